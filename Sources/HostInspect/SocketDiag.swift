import CNetlink

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The TCP sockets of the calling thread's network namespace.
public enum SocketDiag {
    /// Where a dump comes from.
    public enum Source: Sendable, Equatable {
        /// `NETLINK_SOCK_DIAG` (INET_DIAG), as `ss` uses. Faster (on 6.18 with 5,000 TIME-WAIT
        /// sockets, release build: 2.7 ms against 18 ms, of which 13 ms is the kernel writing
        /// `/proc/net/tcp`), and it sees the listen backlog (`sendQ` of a LISTEN socket).
        case netlink
        /// `/proc/net/tcp` and `/proc/net/tcp6`.
        case proc
    }

    /// Every TCP socket of this namespace, IPv4 and IPv6, all states (including TIME-WAIT and
    /// request sockets, which sock_diag reports as SYN-RECV), via NETLINK_SOCK_DIAG; falls back to
    /// parsing /proc/net/tcp and /proc/net/tcp6 if netlink fails.
    ///
    /// The order is the kernel's (IPv4 first: listeners, then the established hash); it is
    /// not stable across calls.
    public static func dumpTCP() throws(InspectError) -> [DiagSocket] { try dump().sockets }

    /// ``dumpTCP()`` with the source it came from. `withTCPInfo`: netlink also reads each
    /// connection's tcp_info (``DiagSocket/timestamps``), which costs a tcp_info per connection.
    public static func dump(withTCPInfo: Bool = false) throws(InspectError) -> (
        sockets: [DiagSocket], source: Source
    ) {
        do throws(InspectError) {
            return (try netlinkDump(withTCPInfo: withTCPInfo), .netlink)
        } catch let netlinkError {
            do throws(InspectError) {
                return (try procDump(), .proc)
            } catch {
                throw InspectError(
                    "\(netlinkError.message); the /proc fallback failed too: \(error.message)",
                    code: netlinkError.code)
            }
        }
    }

    /// Every TCP socket of this namespace from one source only, without fallback.
    public static func dumpTCP(from source: Source) throws(InspectError) -> [DiagSocket] {
        switch source {
        case .netlink: return try netlinkDump()
        case .proc: return try procDump()
        }
    }

    /// Both families through one `NETLINK_SOCK_DIAG` socket (`cnl_dump_tcp`).
    static func netlinkDump(withTCPInfo: Bool = false) throws(InspectError) -> [DiagSocket] {
        var list = cnl_tcp_list()
        defer { cnl_tcp_list_free(&list) }
        var step: UnsafePointer<CChar>?
        let families = CNL_DUMP_IPV4 | CNL_DUMP_IPV6 | (withTCPInfo ? CNL_DUMP_INFO : 0)
        let status = cnl_dump_tcp(Int32(families), &list, &step)
        if status < 0 {
            let what = step.map { String(cString: $0) } ?? "dump"
            throw .errno("sock_diag TCP dump (\(what))", -status)
        }
        var sockets: [DiagSocket] = []
        sockets.reserveCapacity(list.count)
        var names = AddressNames()
        for row in UnsafeBufferPointer(start: list.items, count: list.count) {
            sockets.append(DiagSocket(row, names: &names))
        }
        return sockets
    }

    /// `/proc/net/tcp` then `/proc/net/tcp6`, without duplicates.
    ///
    /// A `read` of these files returns at most a page, and the kernel resumes the next read by
    /// bucket and offset: when sockets come and go meanwhile, rows can repeat or be skipped.
    /// Repeats are dropped here (same state, 4-tuple and inode); skips cannot be detected.
    static func procDump() throws(InspectError) -> [DiagSocket] {
        var sockets = parseProcNetTCP(try ProcFile.read("net/tcp"), family: 4)
        // A kernel without IPv6 has no tcp6 file.
        if let tcp6 = try ProcFile.readIfPresent("net/tcp6") {
            sockets += parseProcNetTCP(tcp6, family: 6)
        }
        var seen = Set<SocketKey>(minimumCapacity: sockets.count)
        return sockets.filter { seen.insert(SocketKey($0)).inserted }
    }
}

/// What tells two rows of a dump apart: two sockets never share all of it (SO_REUSEPORT
/// listeners share the 4-tuple but not the inode).
private struct SocketKey: Hashable {
    var family: Int
    var state: Int
    var local: String
    var localPort: Int
    var remote: String
    var remotePort: Int
    var inode: UInt64

    init(_ socket: DiagSocket) {
        family = socket.family
        state = socket.state
        local = socket.localAddress
        localPort = socket.localPort
        remote = socket.remoteAddress
        remotePort = socket.remotePort
        inode = socket.inode
    }
}

/// The text of each address met in one dump, formatted once: a busy host has a few addresses
/// and hundreds of thousands of sockets (formatting every address again was most of a 256k-socket
/// dump's time in Swift).
struct AddressNames {
    private struct Key: Hashable {
        var family: UInt8
        var high: UInt64
        var low: UInt64
    }
    private var names: [Key: String] = [:]

    mutating func name(family: Int, bytes: UnsafeRawBufferPointer) -> String {
        // The raw bytes as integers, whatever the host's byte order: an IPv4 address is the
        // first 4 bytes only (the rest of the buffer is not part of it).
        let high =
            family == 6
            ? bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            : UInt64(bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let low = family == 6 ? bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self) : 0
        let key = Key(family: UInt8(family), high: high, low: low)
        if let name = names[key] { return name }
        let name = formatAddress(family: family, bytes: bytes)
        if names.count < 4096 { names[key] = name }
        return name
    }
}

extension DiagSocket {
    /// Converts one flat row filled in C from an `inet_diag_msg`.
    init(_ row: cnl_tcp_socket, names: inout AddressNames) {
        let family = Int32(row.family) == AF_INET6 ? 6 : 4
        let local = withUnsafeBytes(of: row.local_address) { names.name(family: family, bytes: $0) }
        let remote = withUnsafeBytes(of: row.remote_address) { names.name(family: family, bytes: $0) }
        self.init(
            family: family, state: Int(row.state),
            localAddress: local, localPort: Int(row.local_port),
            remoteAddress: remote, remotePort: Int(row.remote_port),
            recvQ: Int(row.rqueue), sendQ: Int(row.wqueue),
            timer: Int(row.timer), expiresMs: Int(row.expires_ms),
            inode: row.inode, uid: row.uid,
            // A listener's tcp_info carries no negotiated options.
            timestamps: row.has_info != 0 && Int(row.state) != TCPState.listen
                ? (row.tcpi_options & 1) != 0 : nil)
    }
}

/// Text form of an address held as network-order bytes (4 used for family 4, 16 for family 6):
/// IPv4 as a dotted quad, IPv4-mapped IPv6 as `::ffff:a.b.c.d`, other IPv6 via `inet_ntop`.
func formatAddress(family: Int, bytes: UnsafeRawBufferPointer) -> String {
    if family == 4 {
        return dottedQuad(bytes[0], bytes[1], bytes[2], bytes[3])
    }
    var mapped = bytes[10] == 0xff && bytes[11] == 0xff
    for index in 0..<10 where bytes[index] != 0 { mapped = false }
    if mapped {
        return "::ffff:" + dottedQuad(bytes[12], bytes[13], bytes[14], bytes[15])
    }
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    guard inet_ntop(AF_INET6, bytes.baseAddress, &text, socklen_t(text.count)) != nil else {
        return "?"
    }
    return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

private func dottedQuad(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> String {
    "\(a).\(b).\(c).\(d)"
}
