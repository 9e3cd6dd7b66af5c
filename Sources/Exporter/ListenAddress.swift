#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A problem with the exporter's arguments or its listening socket, in one line.
public struct ExportError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Where the exporter listens: `127.0.0.1:9840`, `[::1]:9840`, `0.0.0.0:9840`, `[::]:9840`
/// (numeric addresses only, so that what is bound is exactly what was asked; port 0 picks a free
/// port).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The numeric address without brackets: `127.0.0.1` or `::1`.
    public var host: String
    public var port: UInt16
    public var isIPv6: Bool { host.contains(":") }

    /// Only ``parse(_:)`` and ``standard`` make one, so the host is always a numeric address.
    init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// The default of `twlab export`: loopback only, port 9840.
    public static let standard = ListenAddress(host: "127.0.0.1", port: 9840)

    /// `ADDRESS:PORT`, IPv6 in brackets. The error names the value and says what was expected.
    public static func parse(_ text: String) -> Result<ListenAddress, ExportError> {
        let bad = ExportError(
            "'\(text)' is not ADDRESS:PORT with a numeric address (e.g. 127.0.0.1:9840, [::1]:9840)")
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":")
            else {
                return .failure(bad)
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard host.contains(":"), isNumeric(String(host), family: AF_INET6) else { return .failure(bad) }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return .failure(bad) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard isNumeric(String(host), family: AF_INET) else { return .failure(bad) }
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = UInt16(portText)
        else {
            return .failure(ExportError("'\(text)': the port must be a number from 0 to 65535"))
        }
        return .success(ListenAddress(host: String(host), port: port))
    }

    /// `127.0.0.1:9840` or `[::1]:9840`.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    private static func isNumeric(_ host: String, family: Int32) -> Bool {
        var storage = in6_addr()
        return inet_pton(family, host, &storage) == 1
    }
}
