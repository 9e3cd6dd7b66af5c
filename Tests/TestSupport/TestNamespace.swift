import Foundation
import HostInspect

#if canImport(Glibc)
    import Glibc
#endif

/// A failure while building a test namespace or its sockets.
public struct TestNamespaceError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A network namespace made for one test, named `twlab-<test pid>-insp-<tag>` (the lab's
/// `twlab-` prefix; KernelLabSupport.namespaces() leaves this process's own out), with
/// addresses on its `lo` and sysctls written inside it by `ip netns exec … sysctl` (never the
/// host's), and the sockets the test made there. ``remove()`` (call it in a `defer`) closes them
/// and deletes the namespace; a namespace left by a crashed test process is deleted by the next
/// ``init(tag:addresses:sysctls:)``.
public final class TestNamespace: @unchecked Sendable {
    public let name: String
    private let lock = NSLock()
    private var descriptors: [Int32] = []
    private var removed = false

    /// nil when namespaces can be made here (root, `ip`); else why not.
    public static let unavailableReason: String? = {
        guard getuid() == 0 else { return "not root: the test creates network namespaces" }
        guard ipPath != nil else { return "iproute2's ip is not installed" }
        return nil
    }()

    /// Prints why namespace tests are skipped, and says whether they can run.
    public static var available: Bool {
        if let reason = unavailableReason { print("skipping namespace test: \(reason)") }
        return unavailableReason == nil
    }

    static let ipPath: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// - Parameters:
    ///   - addresses: IPv4 addresses (10.x) put on the namespace's `lo` as /32.
    ///   - sysctls: written inside the namespace, e.g. `net.ipv4.ip_local_port_range: "40000 40020"`.
    public init(tag: String, addresses: [String] = [], sysctls: [(String, String)] = []) throws {
        name = "twlab-\(getpid())-insp-\(tag)"
        Self.removeStale()
        if FileManager.default.fileExists(atPath: NetworkNamespace.path(of: name)) {
            _ = try? Self.ip(["netns", "del", name])
        }
        do {
            try Self.must(["netns", "add", name])
            try Self.must(["-n", name, "link", "set", "lo", "up"])
            for address in addresses {
                try Self.must(["-n", name, "addr", "add", "\(address)/32", "dev", "lo"])
            }
            for (key, value) in sysctls {
                try Self.must(["netns", "exec", name, "sysctl", "-q", "-w", "\(key)=\(value)"])
            }
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Closes every socket made here and deletes the namespace. Idempotent.
    public func remove() {
        let fds: [Int32] = lock.withLock {
            defer { descriptors = [] }
            return descriptors
        }
        for fd in fds { close(fd) }
        let first = lock.withLock {
            defer { removed = true }
            return !removed
        }
        if first { _ = try? Self.ip(["netns", "del", name]) }
    }

    /// Runs `body` on a thread inside the namespace: the sockets it opens belong there.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let outcome = try NetworkNamespace.run(in: name) {
            () throws(InspectError) -> Result<T, TestNamespaceError> in
            do {
                return .success(try body())
            } catch {
                return .failure(TestNamespaceError(String(describing: error)))
            }
        }
        return try outcome.get()
    }

    /// Keeps `fd` to be closed by ``remove()``.
    public func track(_ fd: Int32) {
        lock.withLock { descriptors.append(fd) }
    }

    /// Closes `fd` now (and forgets it).
    public func close(_ fd: Int32) {
        lock.withLock { descriptors.removeAll { $0 == fd } }
        _ = Glibc.close(fd)
    }

    // MARK: - Sockets inside the namespace

    /// A TCP socket listening on `address:port` with `backlog`: IPv4 for a dotted quad, else
    /// IPv6 (v6-only unless `address` is IPv4-mapped).
    public func listen(_ address: String, _ port: Int, backlog: Int32) throws -> Int32 {
        let fd = try run { () throws -> Int32 in
            let fd = try Self.tcpSocket(for: address)
            var on: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            let bound = try Self.withSocketAddress(address, port) { bind(fd, $0, $1) }
            guard bound == 0, Glibc.listen(fd, backlog) == 0 else {
                let e = errno
                _ = Glibc.close(fd)
                throw TestNamespaceError(
                    "bind/listen \(Self.endpoint(address, port)): \(String(cString: strerror(e)))")
            }
            return fd
        }
        track(fd)
        return fd
    }

    /// What one connect() did.
    public enum Connect: Equatable, Sendable {
        /// Connected (blocking), or in progress (nonblocking): the fd and its local port.
        case socket(fd: Int32, port: Int)
        /// connect() failed at once with this errno (EADDRNOTAVAIL when the ports ran out).
        case failed(errno: Int32)
    }

    /// A connect to `address:port`, of `address`'s family (IPv6 v6-only unless it is
    /// IPv4-mapped). From `source` (of the same family) when given, bound with
    /// IP_BIND_ADDRESS_NO_PORT, so connect() still picks the port the EP-3 way and shares it
    /// across destinations; without one, the route picks the address. Blocking unless `blocking`
    /// is false (then the fd may still be in SYN-SENT). With `bindPort`, bind(source, 0) picks
    /// the port itself first (EP-7, EP-8: bind before connect).
    public func connect(
        from source: String?, to address: String, _ port: Int, blocking: Bool = true, bindPort: Bool = false
    ) throws -> Connect {
        let result = try run { () throws -> Connect in
            let fd = try Self.tcpSocket(for: address)
            if let source {
                var on: Int32 = 1
                // IP_BIND_ADDRESS_NO_PORT (24, linux/in.h): bind the address only (EP-8).
                if !bindPort {
                    setsockopt(fd, Int32(IPPROTO_IP), 24, &on, socklen_t(MemoryLayout<Int32>.size))
                }
                let bound = try Self.withSocketAddress(source, 0) { bind(fd, $0, $1) }
                guard bound == 0 else {
                    let e = errno
                    _ = Glibc.close(fd)
                    throw TestNamespaceError("bind \(source): \(String(cString: strerror(e)))")
                }
            }
            if !blocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
            let status = try Self.withSocketAddress(address, port) { Glibc.connect(fd, $0, $1) }
            if status != 0 && !(errno == EINPROGRESS && !blocking) {
                let e = errno
                _ = Glibc.close(fd)
                return .failed(errno: e)
            }
            return .socket(fd: fd, port: Self.localPort(fd))
        }
        if case .socket(let fd, _) = result { track(fd) }
        return result
    }

    /// `count` connections from `source` (nil: the route's choice) to the listener `listener`
    /// at `address:port`, of either family (``connect(from:to:_:blocking:bindPort:)``), each
    /// accepted, closed by the client first and then by the server: the client keeps a
    /// TIME-WAIT on its ephemeral port (TW-1), the server goes LAST-ACK to CLOSED.
    public func makeTimeWaits(
        _ count: Int, from source: String?, to address: String, _ port: Int, listener: Int32
    ) throws {
        for _ in 0..<count {
            guard case .socket(let client, _) = try connect(from: source, to: address, port) else {
                throw TestNamespaceError("connect \(source ?? "*") -> \(Self.endpoint(address, port)) failed")
            }
            let server = try accept(listener)
            close(client)
            try Self.readEOF(server)
            close(server)
        }
    }

    /// One connection closed by the server first: the server side keeps a TIME-WAIT on the
    /// listening port (inbound: it uses no ephemeral port).
    public func makeServerTimeWait(from source: String, to address: String, _ port: Int, listener: Int32)
        throws
    {
        guard case .socket(let client, _) = try connect(from: source, to: address, port) else {
            throw TestNamespaceError("connect \(source) -> \(address):\(port) failed")
        }
        let server = try accept(listener)
        close(server)
        try Self.readEOF(client)
        close(client)
    }

    /// Loads an nftables ruleset inside the namespace (`nft -f -`), e.g. to drop SYN-ACKs so that
    /// requests stay in the SYN queue. The rules go with the namespace.
    public func nft(_ ruleset: String) throws {
        guard
            let nft = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else { throw TestNamespaceError("nft is not installed") }
        let result = try Self.ip(["netns", "exec", name, nft, "-f", "-"], input: ruleset)
        guard result.status == 0 else { throw TestNamespaceError("nft -f: \(result.output)") }
    }

    /// accept() on a listener of this namespace (blocking).
    public func accept(_ listener: Int32) throws -> Int32 {
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { throw TestNamespaceError("accept: \(String(cString: strerror(errno)))") }
        track(fd)
        return fd
    }

    /// Waits (up to `seconds`) until the namespace holds `timeWait` TIME-WAITs and no socket is
    /// mid-close (FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, LAST-ACK), as the socket-making helpers
    /// leave it shortly after they return; prints what it saw when that does not happen.
    public func settled(timeWait: Int, seconds: Double = 10) throws -> Bool {
        var states: [String] = []
        let done = try Self.waitUntil(seconds: seconds) {
            states = try Inspector.sample(netns: name).sockets.map(\.ssName)
            return states.filter { $0 == "TIME-WAIT" }.count == timeWait
                && !states.contains { ["FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK"].contains($0) }
        }
        if !done {
            let counts = Dictionary(states.map { ($0, 1) }, uniquingKeysWith: +)
            let seen = counts.sorted { $0.key < $1.key }
            print("namespace \(name) did not settle at \(timeWait) TIME-WAITs: \(seen)")
        }
        return done
    }

    /// Waits (up to `seconds`) until `condition` holds, polling every 20 ms.
    public static func waitUntil(seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    // MARK: - Helpers

    static func readEOF(_ fd: Int32) throws {
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n == 0 { return }
            if n < 0 && errno != EINTR {
                throw TestNamespaceError("read: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// `a.b.c.d:port`, or `[v6]:port`.
    static func endpoint(_ address: String, _ port: Int) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// A TCP socket of `address`'s family: AF_INET for IPv4, else AF_INET6, v6-only unless
    /// `address` is IPv4-mapped (`::ffff:a.b.c.d` goes through the IPv4 tables).
    static func tcpSocket(for address: String) throws -> Int32 {
        let v6 = address.contains(":")
        let fd = Glibc.socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestNamespaceError("socket: \(String(cString: strerror(errno)))") }
        if v6 {
            var only: Int32 = address.hasPrefix("::ffff:") ? 0 : 1
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &only, socklen_t(MemoryLayout<Int32>.size))
        }
        return fd
    }

    /// Calls `body` with `address:port` as a `sockaddr_in` or `sockaddr_in6` and its length.
    static func withSocketAddress<R>(
        _ address: String, _ port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R
    ) throws -> R {
        func call<A>(_ sa: inout A) -> R {
            withUnsafeBytes(of: &sa) {
                body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
            }
        }
        if address.contains(":") {
            var sa = try socketAddress6(address, port)
            return call(&sa)
        }
        var sa = try socketAddress(address, port)
        return call(&sa)
    }

    static func socketAddress6(_ address: String, _ port: Int) throws -> sockaddr_in6 {
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET6, address, &sa.sin6_addr) == 1 else {
            throw TestNamespaceError("not an IPv6 address: \(address)")
        }
        return sa
    }

    static func socketAddress(_ address: String, _ port: Int) throws -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, address, &sa.sin_addr) == 1 else {
            throw TestNamespaceError("not an IPv4 address: \(address)")
        }
        return sa
    }

    /// The local port of `fd`, of either family (the port sits at the same offset in both).
    static func localPort(_ fd: Int32) -> Int {
        var sa = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutableBytes(of: &sa) {
            getsockname(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        return Int(UInt16(bigEndian: sa.sin6_port))
    }

    /// Runs `ip ARGUMENTS`, with `input` on its stdin; stdout and stderr together.
    @discardableResult
    static func ip(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ipPath ?? "/usr/sbin/ip")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let stdin = input.map { _ in Pipe() }
        if let stdin { process.standardInput = stdin }
        try process.run()
        if let stdin, let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func must(_ arguments: [String]) throws {
        let result = try ip(arguments)
        guard result.status == 0 else {
            throw TestNamespaceError("ip \(arguments.joined(separator: " ")): \(result.output)")
        }
    }

    /// Deletes `twlab-<pid>-insp-*` namespaces whose test process is gone.
    static func removeStale() {
        for name in NetworkNamespace.names() where name.hasPrefix("twlab-") && name.contains("-insp-") {
            let rest = name.dropFirst("twlab-".count)
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { _ = try? ip(["netns", "del", name]) }
        }
    }
}
