import Glibc
import LinuxTCP
import Scenario

/// A host's listeners and the applications behind them, with real sockets, in one poll loop
/// (mirrors the simulator's `HTTPServer`).
///
/// - accept: `.immediate(0)` accepts every queued connection as soon as the listener is
///   readable; `.immediate(d)` accepts each one `d` after it was seen queued (queue length read
///   with TCP_INFO, 1 ms resolution); `.rate(r)` arms a tick 1/r after a connection is queued
///   and accepts one per tick while the queue is not empty; `.never` never accepts.
/// - HTTP: every request gets the status with a Content-Length; a request that asks the server
///   to close gets TCP_CORK, the response, shutdown(SHUT_WR) and close() (the FIN rides on the
///   response, so the server closes first); otherwise the connection stays until the client
///   closes (then close) or `keepaliveTimeout` passes idle after a response (the server closes).
/// - Bare listener: accepted connections are never read or written; when the peer closes
///   they are closed too (the simulator's `.eof` → close).
///
/// Built and opened on the agent's main thread, then owned by the server thread alone.
final class AgentServer: @unchecked Sendable {
    private struct Listening {
        var fd: Int32 = -1
        var spec: ListenerSpec
        /// `.immediate(d > 0)`: when each seen queued connection is due to be accepted (FIFO).
        var due: [Nanos] = []
        /// `.rate`: the next accept tick.
        var tick: Nanos? = nil
    }

    private struct Connection {
        var fd: Int32
        var http: HTTPServerSpec?
        var input: [UInt8] = []
        var output: [UInt8] = []
        var sent = 0
        /// Shut down and close once `output` is sent (the request asked the server to close).
        var closeAfterSend = false
        /// Keep-alive: closed by the server when idle until then.
        var idleDeadline: Nanos? = nil
    }

    private var listeners: [Listening]
    private var connections: [Int32: Connection] = [:]
    private let stop: AgentStopSignal
    private static let queuePollInterval: Nanos = Nanos.nanosPerMilli

    init(listeners: [ListenerSpec], stop: AgentStopSignal) {
        self.listeners = listeners.map { Listening(spec: $0) }
        self.stop = stop
    }

    /// Binds 0.0.0.0:port (SO_REUSEADDR) and listens on every listener; nil or an error message.
    func open() -> String? {
        for i in listeners.indices {
            let spec = listeners[i].spec
            let (fd, err) = POSIXSocket.tcp(nonBlocking: true)
            guard fd >= 0 else { return "socket() for listener \(spec.port): \(POSIXErrno.name(err))" }
            listeners[i].fd = fd
            POSIXSocket.setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            let b = POSIXSocket.bind(fd, address: nil, port: spec.port)
            guard b == 0 else { return "bind 0.0.0.0:\(spec.port): \(POSIXErrno.name(b))" }
            guard listen(fd, Int32(clamping: spec.backlog)) == 0 else {
                return "listen(\(spec.backlog)) on port \(spec.port): \(POSIXErrno.name(errno))"
            }
        }
        return nil
    }

    /// Closes every socket (plain close, no linger).
    func closeAll() {
        for c in connections.values { POSIXSocket.close(c.fd) }
        connections.removeAll()
        for i in listeners.indices where listeners[i].fd >= 0 {
            POSIXSocket.close(listeners[i].fd)
            listeners[i].fd = -1
        }
    }

    /// The loop: runs until the stop signal, then closes everything.
    func run() {
        var fds: [pollfd] = []
        var owners: [Int32] = []  // per poll entry after the stop pipe: listener index, or -1 - fd
        while !stop.isStopped {
            let now = POSIXClock.now()
            fds.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            fds.append(stop.pollEntry)
            var deadline: Nanos? = nil
            func wake(_ t: Nanos) { deadline = min(deadline ?? t, t) }
            for (i, l) in listeners.enumerated() {
                var watch = false
                switch l.spec.accept {
                case .never: break
                case .immediate(let d):
                    if d == 0 || l.due.isEmpty {
                        watch = true
                    } else {
                        wake(min(l.due[0], now + Self.queuePollInterval))
                    }
                case .rate:
                    if let t = l.tick { wake(t) } else { watch = true }
                }
                if watch {
                    fds.append(pollfd(fd: l.fd, events: Int16(POLLIN), revents: 0))
                    owners.append(Int32(i))
                }
            }
            for c in connections.values {
                var ev: Int16
                if c.http == nil {
                    ev = POSIXPoll.rdhup
                } else {
                    ev = Int16(POLLIN)
                    if c.sent < c.output.count { ev |= Int16(POLLOUT) }
                    if let t = c.idleDeadline { wake(t) }
                }
                fds.append(pollfd(fd: c.fd, events: ev, revents: 0))
                owners.append(-1 - c.fd)
            }
            POSIXPoll.wait(&fds, until: deadline)
            if fds[0].revents != 0 || stop.isStopped { break }
            let t = POSIXClock.now()
            for (k, owner) in owners.enumerated() {
                let rev = fds[k + 1].revents
                if owner >= 0 {
                    if rev != 0 { listenerReadable(Int(owner), now: t) }
                } else if rev != 0 {
                    connectionEvent(-1 - owner, revents: rev, now: t)
                }
            }
            for i in listeners.indices { listenerTimers(i, now: t) }
            expireIdle(now: t)
        }
        closeAll()
    }

    // MARK: accepting

    private func listenerReadable(_ i: Int, now: Nanos) {
        let l = listeners[i]
        switch l.spec.accept {
        case .never:
            break
        case .immediate(let d):
            if d == 0 {
                while acceptOne(i, now: now) {}
            } else {
                noteQueued(i, delay: d, now: now)
            }
        case .rate(let r):
            if l.tick == nil { listeners[i].tick = now + Self.period(r) }
        }
    }

    private static func period(_ perSecond: Double) -> Nanos { Nanos((1e9 / perSecond).rounded()) }

    /// `.immediate(d)`: gives each newly queued connection its accept time.
    private func noteQueued(_ i: Int, delay: Nanos, now: Nanos) {
        let queued = POSIXSocket.acceptQueueLength(listeners[i].fd)
        let new = queued - listeners[i].due.count
        if new > 0 { listeners[i].due.append(contentsOf: repeatElement(now + delay, count: new)) }
    }

    private func listenerTimers(_ i: Int, now: Nanos) {
        switch listeners[i].spec.accept {
        case .never:
            break
        case .immediate(let d):
            guard d > 0, !listeners[i].due.isEmpty else { return }
            noteQueued(i, delay: d, now: now)
            while let first = listeners[i].due.first, first <= now {
                listeners[i].due.removeFirst()
                _ = acceptOne(i, now: now)
            }
        case .rate(let r):
            guard let tick = listeners[i].tick, tick <= now else { return }
            listeners[i].tick = nil
            _ = acceptOne(i, now: now)
            if POSIXSocket.acceptQueueLength(listeners[i].fd) > 0 {
                listeners[i].tick = tick + Self.period(r)
            }
        }
    }

    /// accept() one connection; false when the queue was empty.
    private func acceptOne(_ i: Int, now: Nanos) -> Bool {
        let fd = accept(listeners[i].fd, nil, nil)
        guard fd >= 0 else { return errno == EINTR || errno == ECONNABORTED }
        POSIXSocket.setNonBlocking(fd)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let http = listeners[i].spec.http
        var c = Connection(fd: fd, http: http)
        if let http { c.idleDeadline = now + http.keepaliveTimeout }
        connections[fd] = c
        return true
    }

    // MARK: connections

    private func drop(_ fd: Int32) {
        connections[fd] = nil
        POSIXSocket.close(fd)
    }

    private func connectionEvent(_ fd: Int32, revents: Int16, now: Nanos) {
        guard var c = connections[fd] else { return }
        guard c.http != nil else {
            // A bare listener's connection: the peer closed (or reset); close it too.
            POSIXSocket.drain(fd)
            drop(fd)
            return
        }
        if revents & Int16(POLLOUT) != 0 {
            connections[fd] = c
            flush(fd, now: now)
            guard let again = connections[fd] else { return }
            c = again
        }
        guard revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { return }
        switch POSIXSocket.receive(fd, into: &c.input) {
        case .wouldBlock:
            connections[fd] = c
            return
        case .eof, .error:
            // The client closed (or reset): close our side (nginx does the same).
            drop(fd)
            return
        case .data:
            break
        }
        // Answer every complete request; stop after one that asks the server to close.
        while !c.closeAfterSend, let (n, closes) = AgentHTTP.parseRequest(c.input) {
            c.input.removeFirst(n)
            let status = c.http?.status ?? 404
            if closes {
                // The FIN must ride on the response: cork, send, shutdown, close.
                POSIXSocket.setInt(fd, Int32(IPPROTO_TCP), TCP_CORK, 1)
                c.closeAfterSend = true
                c.idleDeadline = nil
            }
            c.output.append(contentsOf: AgentHTTP.response(status: status, close: closes))
        }
        connections[fd] = c
        flush(fd, now: now)
    }

    /// Sends pending output; then shuts down and closes, or restarts the keep-alive timer.
    private func flush(_ fd: Int32, now: Nanos) {
        guard var c = connections[fd], c.sent < c.output.count else { return }
        let n = POSIXSocket.send(fd, c.output, from: c.sent)
        if n < 0 {
            drop(fd)
            return
        }
        c.sent += n
        guard c.sent >= c.output.count else {
            connections[fd] = c
            return
        }
        c.output.removeAll(keepingCapacity: true)
        c.sent = 0
        if c.closeAfterSend {
            shutdown(fd, Int32(SHUT_WR))
            drop(fd)
            return
        }
        if let http = c.http { c.idleDeadline = now + http.keepaliveTimeout }
        connections[fd] = c
    }

    /// Keep-alive timeout: the server closes idle connections first.
    private func expireIdle(now: Nanos) {
        var expired: [Int32] = []
        for c in connections.values {
            if let t = c.idleDeadline, t <= now, c.sent >= c.output.count { expired.append(c.fd) }
        }
        for fd in expired { drop(fd) }
    }
}
