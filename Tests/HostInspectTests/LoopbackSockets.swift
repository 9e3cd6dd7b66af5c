import Glibc
import HostInspect

/// Plain Glibc TCP sockets on loopback for the live tests; every call fails the test loudly
/// (a `precondition`) rather than returning errors, since a failure here is an environment bug.
enum Loopback {
    static let ipv4Loopback = UInt32(0x7F00_0001).bigEndian

    /// A socket listening on 127.0.0.1, an ephemeral port, with `backlog`.
    static func listen4(backlog: Int32) -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket: \(errno)")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = ipv4Loopback
        let bound = withUnsafeBytes(of: &address) {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        precondition(bound == 0, "bind: \(errno)")
        precondition(Glibc.listen(fd, backlog) == 0, "listen: \(errno)")
        return (fd, localPort(fd))
    }

    /// A dual-stack socket listening on `::` (IPV6_V6ONLY off), or nil without IPv6.
    static func listen6DualStack(backlog: Int32) -> (fd: Int32, port: Int)? {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var off: Int32 = 0
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        let bound = withUnsafeBytes(of: &address) {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard bound == 0, Glibc.listen(fd, backlog) == 0 else {
            close(fd)
            return nil
        }
        return (fd, localPort(fd))
    }

    /// A blocking connect to 127.0.0.1:`port`; returns the fd and its local port.
    static func connect4(port: Int) -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket: \(errno)")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = ipv4Loopback
        let connected = withUnsafeBytes(of: &address) {
            Glibc.connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        precondition(connected == 0, "connect: \(errno)")
        return (fd, localPort(fd))
    }

    /// A blocking IPv6 connect to `address` (16 bytes, network order) port `port`, or nil.
    static func connect6(address bytes: [UInt8], port: Int) -> (fd: Int32, port: Int)? {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = UInt16(port).bigEndian
        withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
        let connected = withUnsafeBytes(of: &address) {
            Glibc.connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return (fd, localPort(fd))
    }

    static func accept(_ listener: Int32) -> Int32 {
        let fd = Glibc.accept(listener, nil, nil)
        precondition(fd >= 0, "accept: \(errno)")
        return fd
    }

    static func localPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutableBytes(of: &storage) {
            getsockname(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        precondition(status == 0, "getsockname: \(errno)")
        return withUnsafeBytes(of: &storage) { raw in
            // sin_port and sin6_port sit at the same offset, right after the family.
            Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        }
    }

    /// Polls `condition` every 5 ms for up to `seconds`.
    static func waitUntil(seconds: Double = 2, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Int(seconds * 200)
        for _ in 0..<deadline {
            if try condition() { return true }
            usleep(5_000)
        }
        return try condition()
    }
}

/// `(state, localPort, remotePort)`: what the netlink and /proc dumps are compared on.
struct PortTriple: Hashable, CustomStringConvertible {
    var state: Int
    var localPort: Int
    var remotePort: Int

    init(_ socket: DiagSocket) {
        state = socket.state
        localPort = socket.localPort
        remotePort = socket.remotePort
    }

    var description: String { "\(TCPState.ssName(state)) \(localPort)->\(remotePort)" }
}

extension [DiagSocket] {
    /// The sockets with a loopback (or wildcard) endpoint whose port is in `ports`: the tests'
    /// own, even when other processes churn thousands of sockets through this namespace.
    func touching(_ ports: Set<Int>) -> [DiagSocket] {
        let local: Set = ["127.0.0.1", "::ffff:127.0.0.1", "::1", "0.0.0.0", "::"]
        return filter {
            (ports.contains($0.localPort) && local.contains($0.localAddress))
                || (ports.contains($0.remotePort) && local.contains($0.remoteAddress))
        }
    }
}
