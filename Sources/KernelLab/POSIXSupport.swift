import Glibc
import LinuxTCP
import Synchronization

/// The monotonic clock the agent measures with.
enum POSIXClock {
    static func now() -> Nanos {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Nanos(ts.tv_sec) * Nanos.nanosPerSecond + Nanos(ts.tv_nsec)
    }
}

/// errno values by the names the result contract uses.
enum POSIXErrno {
    static var current: Int32 { errno }

    static func name(_ e: Int32) -> String {
        switch e {
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case EADDRINUSE: "EADDRINUSE"
        case ECONNREFUSED: "ECONNREFUSED"
        case ECONNRESET: "ECONNRESET"
        case ETIMEDOUT: "ETIMEDOUT"
        case EPIPE: "EPIPE"
        case ECONNABORTED: "ECONNABORTED"
        case ENETUNREACH: "ENETUNREACH"
        case EHOSTUNREACH: "EHOSTUNREACH"
        case ENETDOWN: "ENETDOWN"
        case EHOSTDOWN: "EHOSTDOWN"
        case ENOTCONN: "ENOTCONN"
        case EMFILE: "EMFILE"
        case ENFILE: "ENFILE"
        case ENOBUFS: "ENOBUFS"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EPERM: "EPERM"
        case EINVAL: "EINVAL"
        case EAGAIN: "EAGAIN"
        case EPROTO: "EPROTO"
        case ENOPROTOOPT: "ENOPROTOOPT"
        default: "E\(e)"
        }
    }
}

/// poll(2) with a nanosecond deadline: ppoll when the C library has it, else poll rounded up to
/// the next millisecond. EINTR counts as "nothing ready".
enum POSIXPoll {
    private typealias PPoll =
        @convention(c) (
            UnsafeMutablePointer<pollfd>?, nfds_t, UnsafePointer<timespec>?, UnsafeRawPointer?
        ) -> Int32
    private struct Function: @unchecked Sendable { let call: PPoll? }
    /// Glibc's module map hides the GNU ppoll(); look it up once.
    private static let ppoll = Function(call: dlsym(nil, "ppoll").map { unsafeBitCast($0, to: PPoll.self) })

    /// Waits until one of `fds` is ready or the monotonic clock reaches `deadline` (nil: no limit).
    @discardableResult
    static func wait(_ fds: inout [pollfd], until deadline: Nanos?) -> Int32 {
        var rest: Nanos = -1
        if let d = deadline { rest = max(0, d - POSIXClock.now()) }
        let n = fds.withUnsafeMutableBufferPointer { buf -> Int32 in
            if let pp = ppoll.call {
                if rest < 0 { return pp(buf.baseAddress, nfds_t(buf.count), nil, nil) }
                var ts = timespec(
                    tv_sec: Int(rest / Nanos.nanosPerSecond), tv_nsec: Int(rest % Nanos.nanosPerSecond))
                return pp(buf.baseAddress, nfds_t(buf.count), &ts, nil)
            }
            let ms: Int32 =
                rest < 0 ? -1 : Int32(clamping: (rest + Nanos.nanosPerMilli - 1) / Nanos.nanosPerMilli)
            return poll(buf.baseAddress, nfds_t(buf.count), ms)
        }
        if n < 0 {
            for i in fds.indices { fds[i].revents = 0 }
            return 0
        }
        return n
    }

    static let rdhup: Int16 = 0x2000  // POLLRDHUP (GNU, hidden by the module map)
}

/// A thread running one closure (pthreads; no Foundation).
enum POSIXThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread; nil when the thread could not be created.
    static func spawn(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(
            &tid, nil,
            { raw in
                let b = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                b.body()
                return nil
            }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            return nil
        }
        return tid
    }

    static func join(_ t: pthread_t) { pthread_join(t, nil) }
}

/// Wakes every poll loop of the agent at once: each loop polls `readFD`, which becomes readable
/// (hang-up) for good when the write end is closed.
final class AgentStopSignal: Sendable {
    let readFD: Int32
    private let writeFD: Int32
    private let stopped = Atomic<Bool>(false)

    init?() {
        var p: [Int32] = [-1, -1]
        guard pipe(&p) == 0 else { return nil }
        readFD = p[0]
        writeFD = p[1]
        _ = fcntl(readFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeFD, F_SETFD, FD_CLOEXEC)
    }

    var isStopped: Bool { stopped.load(ordering: .acquiring) }

    func trigger() {
        if stopped.exchange(true, ordering: .acquiringAndReleasing) { return }
        close(writeFD)
    }

    /// Closes the read end; only once every loop has ended.
    func dispose() {
        trigger()
        close(readFD)
    }

    var pollEntry: pollfd { pollfd(fd: readFD, events: Int16(POLLIN), revents: 0) }

    /// Sleeps until `deadline`; false when stopped first.
    func sleep(until deadline: Nanos) -> Bool {
        var fds = [pollEntry]
        while !isStopped {
            if POSIXClock.now() >= deadline { return true }
            POSIXPoll.wait(&fds, until: deadline)
        }
        return false
    }
}

/// A successful attempt's connection, as the result contract reports it.
struct ConnectionFacts: Sendable {
    var localPort: Int?
    var tsOffset: UInt32?
}

/// Writes protocol lines; one write(2) per line under a lock, so lines never interleave.
final class AgentLineWriter: Sendable {
    let fd: Int32
    private let lock = Mutex<Void>(())

    init(fd: Int32) { self.fd = fd }

    /// One attempt of `workload` with its outcome (a status or an errno name), and for a
    /// successful one what its connection was.
    func attempt(_ workload: String, _ outcome: String, latency: Nanos? = nil, facts: ConnectionFacts? = nil)
    {
        send(
            .attempt(
                workload: workload, outcome: outcome, latencyMs: latency.map { $0.millisValue },
                localPort: facts?.localPort, tsOffset: facts?.tsOffset))
    }

    func send(_ event: AgentEvent) {
        let bytes = Array((AgentWire.line(event) + "\n").utf8)
        lock.withLock { _ in
            bytes.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = write(fd, raw.baseAddress! + off, raw.count - off)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    off += n
                }
            }
        }
    }
}

/// Socket calls the agent needs, each returning errno values rather than throwing.
enum POSIXSocket {
    static func address(_ a: IPv4Address, _ port: UInt16) -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr = in_addr(s_addr: a.value.bigEndian)
        return sa
    }

    /// A new TCP socket (non-blocking unless told otherwise), or the errno.
    static func tcp(nonBlocking: Bool = true) -> (fd: Int32, error: Int32) {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = socket(AF_INET, type, 0)
        return fd < 0 ? (-1, errno) : (fd, 0)
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    @discardableResult
    static func setInt(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
        var v = value
        return setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// SO_LINGER {on, 0 s}: close() then sends a RST and leaves no TIME_WAIT.
    static func setLinger(_ fd: Int32, on: Bool) {
        var l = linger(l_onoff: on ? 1 : 0, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    }

    /// close(), abortive (RST) when `linger0`.
    static func close(_ fd: Int32, linger0: Bool = false) {
        if linger0 { setLinger(fd, on: true) }
        _ = Glibc.close(fd)
    }

    /// bind() to `address` (nil: INADDR_ANY) and `port`; 0 or the errno.
    static func bind(_ fd: Int32, address: IPv4Address?, port: UInt16) -> Int32 {
        var sa = Self.address(address ?? IPv4Address(0), port)
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return rc == 0 ? 0 : errno
    }

    /// A non-blocking TCP socket with connect() started, the way every client agent opens a
    /// connection: `prepare` (e.g. bind) runs first. Returns the descriptor and 0 (connected) or
    /// EINPROGRESS; on an error the socket is closed and the descriptor is -1.
    static func openConnect(
        to a: IPv4Address, port: UInt16, prepare: (Int32) -> Int32 = { _ in 0 }
    ) -> (fd: Int32, status: Int32) {
        let (fd, err) = tcp()
        guard fd >= 0 else { return (-1, err) }
        var status = prepare(fd)
        if status == 0 { status = connect(fd, to: a, port: port) }
        if status != 0 && status != EINPROGRESS {
            close(fd)
            return (-1, status)
        }
        return (fd, status)
    }

    /// connect(); 0 when connected, EINPROGRESS when under way, else the errno.
    static func connect(_ fd: Int32, to a: IPv4Address, port: UInt16) -> Int32 {
        var sa = address(a, port)
        while true {
            let rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if rc == 0 { return 0 }
            if errno == EINTR { continue }
            return errno
        }
    }

    /// SO_ERROR: the result of a non-blocking connect, or a pending error.
    static func pendingError(_ fd: Int32) -> Int32 {
        var e: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 else { return errno }
        return e
    }

    static func localPort(_ fd: Int32) -> Int? {
        var sa = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return rc == 0 ? Int(UInt16(bigEndian: sa.sin_port)) : nil
    }

    /// What a successful attempt reports of its connection: the local port and, when it
    /// negotiated timestamps, its TS offset (TS-3). The offset is `getsockopt(TCP_TIMESTAMP)`
    /// (`tcp_clock_ts() + tp->tsoffset` in `do_tcp_getsockopt`, ms with its low bit cleared)
    /// minus CLOCK_MONOTONIC in ms, the clock `tcp_clock_ns()` reads: exact to about 1 ms.
    static func facts(_ fd: Int32) -> ConnectionFacts {
        var info = tcp_info()
        var len = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &len) == 0,
            info.tcpi_options & UInt8(TCPI_OPT_TIMESTAMPS) != 0
        else { return ConnectionFacts(localPort: localPort(fd), tsOffset: nil) }
        var tsval: UInt32 = 0
        var tsLen = socklen_t(MemoryLayout<UInt32>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_TIMESTAMP, &tsval, &tsLen) == 0 else {
            return ConnectionFacts(localPort: localPort(fd), tsOffset: nil)
        }
        let clockMs = UInt32(truncatingIfNeeded: POSIXClock.now() / 1_000_000)
        return ConnectionFacts(localPort: localPort(fd), tsOffset: tsval &- clockMs)
    }

    /// A listener's accept queue length (`ss -lnt` Recv-Q: tcpi_unacked of a LISTEN socket).
    static func acceptQueueLength(_ fd: Int32) -> Int {
        var info = tcp_info()
        var len = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &len) == 0 else { return 0 }
        return Int(info.tcpi_unacked)
    }

    enum ReadResult: Equatable {
        case data(Int)
        case eof
        case wouldBlock
        case error(Int32)
    }

    /// Reads what is available and appends it to `buf`.
    static func receive(_ fd: Int32, into buf: inout [UInt8], max: Int = 16384) -> ReadResult {
        withUnsafeTemporaryAllocation(byteCount: max, alignment: 1) { chunk in
            while true {
                let n = recv(fd, chunk.baseAddress, max, 0)
                if n > 0 {
                    buf.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
                    return .data(n)
                }
                if n == 0 { return .eof }
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return .wouldBlock }
                return .error(errno)
            }
        }
    }

    /// Reads and throws away everything available.
    static func drain(_ fd: Int32) {
        var sink: [UInt8] = []
        while case .data = receive(fd, into: &sink) { sink.removeAll(keepingCapacity: true) }
    }

    /// Sends from `bytes[offset...]` without blocking; the number sent (0 when the buffer is
    /// full), or minus the errno. Never raises SIGPIPE.
    static func send(_ fd: Int32, _ bytes: [UInt8], from offset: Int = 0) -> Int {
        guard offset < bytes.count else { return 0 }
        while true {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
            return -Int(errno)
        }
    }

    /// Raises the soft open-file limit to the hard one (a fill workload holds thousands).
    static func raiseFileLimit() {
        var rl = rlimit()
        let res = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(res, &rl) == 0, rl.rlim_cur < rl.rlim_max else { return }
        rl.rlim_cur = rl.rlim_max
        _ = setrlimit(res, &rl)
    }
}
