#if canImport(Glibc)
    import Glibc
#endif

/// Makes many client-side TIME-WAITs fast, for tests and the inspection benchmark: batches of
/// nonblocking connects to a listener of the same namespace, all accepted, every client closed
/// first (its FIN reaches the server, which reads EOF), then every server side closed, so each
/// client ends in TIME-WAIT (TW-1) and each server side goes LAST-ACK to CLOSED.
///
/// Call it on a thread inside the namespace (``TestNamespace/run(_:)``). The listener must be
/// blocking, with a backlog of at least ``batch`` (and somaxconn too).
public enum TimeWaitFactory {
    /// Connections in flight at once (2 descriptors each).
    public static let batch = 256

    /// Makes up to `count` TIME-WAITs from `source` (bound with IP_BIND_ADDRESS_NO_PORT, so the
    /// ports come from connect()'s scan, EP-3) to the targets in turn; returns how many it made
    /// (fewer when connect() runs out of ports: EADDRNOTAVAIL).
    public static func make(
        _ count: Int, from source: String, to targets: [(address: String, port: Int)], listener: Int32,
        progress: ((Int) -> Void)? = nil
    ) throws -> Int {
        var sourceAddress = try TestNamespace.socketAddress(source, 0)
        var remotes = try targets.map { try TestNamespace.socketAddress($0.address, $0.port) }
        var made = 0
        var next = 0
        var clients: [Int32] = []
        var servers: [Int32] = []
        clients.reserveCapacity(batch)
        servers.reserveCapacity(batch)
        var byte: UInt8 = 0
        var on: Int32 = 1
        while made < count {
            let want = min(batch, count - made)
            var exhausted = false
            for _ in 0..<want {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                guard fd >= 0 else { throw TestNamespaceError("socket: \(String(cString: strerror(errno)))") }
                setsockopt(fd, Int32(IPPROTO_IP), 24, &on, socklen_t(MemoryLayout<Int32>.size))
                _ = withUnsafeBytes(of: &sourceAddress) {
                    bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
                }
                let status = withUnsafeBytes(of: &remotes[next % remotes.count]) {
                    connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
                }
                if status != 0 && errno != EINPROGRESS {
                    let e = errno
                    close(fd)
                    if e == EADDRNOTAVAIL {
                        exhausted = true
                        break
                    }
                    throw TestNamespaceError("connect: \(String(cString: strerror(e)))")
                }
                next += 1
                clients.append(fd)
            }
            for _ in clients {
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { throw TestNamespaceError("accept: \(String(cString: strerror(errno)))") }
                servers.append(fd)
            }
            for fd in clients { close(fd) }
            for fd in servers {
                while read(fd, &byte, 1) != 0 {
                    if errno != EINTR && errno != EAGAIN { break }
                }
                close(fd)
            }
            made += clients.count
            if let progress, made % 32768 < batch { progress(made) }
            clients.removeAll(keepingCapacity: true)
            servers.removeAll(keepingCapacity: true)
            if exhausted { break }
        }
        return made
    }

    /// One target, for the common case.
    public static func make(_ count: Int, from source: String, to address: String, port: Int, listener: Int32)
        throws -> Int
    {
        try make(count, from: source, to: [(address, port)], listener: listener)
    }
}
