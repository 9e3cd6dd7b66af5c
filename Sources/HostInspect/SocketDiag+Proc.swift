extension SocketDiag {
    /// The /proc/net/tcp{,6} parser, exposed for tests and the fallback.
    ///
    /// `family` is 4 for `/proc/net/tcp` and 6 for `/proc/net/tcp6`. Each address word is the
    /// kernel's `%08X` of a network-order `u32` read in host order; ports are host order. The
    /// `tm->when` column is in clock ticks (USER_HZ, 100 on Linux) and becomes `expiresMs`
    /// at 10 ms resolution. For LISTEN sockets `rx_queue` is the accept-queue length as in
    /// sock_diag, but `tx_queue` is 0: `/proc` does not show the backlog. Lines that do not parse
    /// (the header, truncated lines) are skipped.
    public static func parseProcNetTCP(_ text: String, family: Int) -> [DiagSocket] {
        var text = text
        return text.withUTF8 { bytes in
            var sockets: [DiagSocket] = []
            for line in bytes[...].split(separator: UInt8(ascii: "\n")) {
                if let socket = parseLine(line, family: family) { sockets.append(socket) }
            }
            return sockets
        }
    }

    private typealias Bytes = Slice<UnsafeBufferPointer<UInt8>>

    /// `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`
    private static func parseLine(_ line: Bytes, family: Int) -> DiagSocket? {
        let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 10)
        guard fields.count >= 10, fields[0].last == UInt8(ascii: ":"),
            let local = parseEndpoint(fields[1], family: family),
            let remote = parseEndpoint(fields[2], family: family),
            let state = parseHex(fields[3]),
            let (txQueue, rxQueue) = parseHexPair(fields[4]),
            let (timer, when) = parseHexPair(fields[5]),
            let uid = parseDecimal(fields[7]), uid <= UInt64(UInt32.max),
            let inode = parseDecimal(fields[9])
        else { return nil }
        return DiagSocket(
            family: family, state: Int(state),
            localAddress: local.address, localPort: local.port,
            remoteAddress: remote.address, remotePort: remote.port,
            recvQ: Int(rxQueue), sendQ: Int(txQueue),
            timer: Int(timer), expiresMs: Int(when) * 10,
            inode: inode, uid: UInt32(uid))
    }

    /// `"0100007F:1F90"` -> ("127.0.0.1", 8080); 32 hex digits before the colon for family 6.
    private static func parseEndpoint(
        _ field: Bytes, family: Int
    ) -> (address: String, port: Int)? {
        guard let colon = field.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let hexAddress = field[..<colon]
        guard hexAddress.count == (family == 6 ? 32 : 8),
            let port = parseHex(field[field.index(after: colon)...]), port <= 0xFFFF
        else { return nil }
        // Each word goes to memory in host order, which restores the network-order bytes.
        var words: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
        let address = withUnsafeMutableBytes(of: &words) { raw -> String? in
            var start = hexAddress.startIndex
            var offset = 0
            while start != hexAddress.endIndex {
                let end = hexAddress.index(start, offsetBy: 8)
                guard let word = parseHex(hexAddress[start..<end]) else { return nil }
                raw.storeBytes(of: UInt32(word), toByteOffset: offset, as: UInt32.self)
                start = end
                offset += 4
            }
            return formatAddress(family: family, bytes: UnsafeRawBufferPointer(raw))
        }
        guard let address else { return nil }
        return (address, Int(port))
    }

    private static func parseHexPair(_ field: Bytes) -> (UInt64, UInt64)? {
        guard let colon = field.firstIndex(of: UInt8(ascii: ":")),
            let first = parseHex(field[..<colon]),
            let second = parseHex(field[field.index(after: colon)...])
        else { return nil }
        return (first, second)
    }

    private static func parseHex(_ digits: Bytes) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte &- UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte &- UInt8(ascii: "A") &+ 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte &- UInt8(ascii: "a") &+ 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    private static func parseDecimal(_ digits: Bytes) -> UInt64? {
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }
}
