import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// IPv6 sockets in a test namespace: native (`::1`) and IPv4-mapped (`::ffff:a.b.c.d`, through an
/// AF_INET6 socket that is not v6-only), to check that inspection reads both families.
extension TestNamespace {
    /// A TCP listener on `[address]:port` (AF_INET6, v6-only).
    public func listen6(_ address: String, _ port: Int, backlog: Int32) throws -> Int32 {
        let fd = try run { () throws -> Int32 in
            let fd = try Self.socket6(v6only: true)
            var on: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            var sa = try Self.socketAddress6(address, port)
            let bound = withUnsafeBytes(of: &sa) {
                bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
            }
            guard bound == 0, Glibc.listen(fd, backlog) == 0 else {
                let e = errno
                _ = Glibc.close(fd)
                throw TestNamespaceError("bind/listen [\(address)]:\(port): \(String(cString: strerror(e)))")
            }
            return fd
        }
        track(fd)
        return fd
    }

    /// `count` connections from an AF_INET6 socket (v6-only unless `address` is IPv4-mapped) to
    /// `[address]:port`, accepted on `listener`, each closed by the client first: TIME-WAITs on
    /// the client side (TW-1), as ``makeTimeWaits(_:from:to:_:listener:)`` does for IPv4.
    public func makeTimeWaits6(_ count: Int, to address: String, _ port: Int, listener: Int32) throws {
        for _ in 0..<count {
            let client = try run { () throws -> Int32 in
                let fd = try Self.socket6(v6only: !address.hasPrefix("::ffff:"))
                var remote = try Self.socketAddress6(address, port)
                let status = withUnsafeBytes(of: &remote) {
                    Glibc.connect(
                        fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
                }
                guard status == 0 else {
                    let e = errno
                    _ = Glibc.close(fd)
                    throw TestNamespaceError("connect [\(address)]:\(port): \(String(cString: strerror(e)))")
                }
                return fd
            }
            track(client)
            let server = try accept(listener)
            close(client)
            try Self.readEOF(server)
            close(server)
        }
    }

    static func socket6(v6only: Bool) throws -> Int32 {
        let fd = Glibc.socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else {
            throw TestNamespaceError("socket(AF_INET6): \(String(cString: strerror(errno)))")
        }
        var flag: Int32 = v6only ? 1 : 0
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &flag, socklen_t(MemoryLayout<Int32>.size))
        return fd
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
}
