import LinuxTCP
import Scenario

/// The HTTP/1.x bytes the agent's clients and servers exchange: curl 7.88's request, an
/// nginx-like response with a Content-Length, and the incremental parsers for both.
enum AgentHTTP {
    static let userAgent = "curl/7.88.1"

    /// `GET / HTTP/1.x` with curl's Host, User-Agent and Accept; a scenario header with the same
    /// name replaces curl's (like `curl -H`), the others follow in file order.
    static func request(_ r: HTTPRequestSpec, to address: IPv4Address, port: UInt16) -> [UInt8] {
        var headers: [(String, String)] = [
            ("Host", port == 80 ? "\(address)" : "\(address):\(port)"),
            ("User-Agent", userAgent),
            ("Accept", "*/*"),
        ]
        for h in r.headers {
            if let i = headers.firstIndex(where: { $0.0.lowercased() == h.name.lowercased() }) {
                headers[i].1 = h.value
            } else {
                headers.append((h.name, h.value))
            }
        }
        var text = "GET / HTTP/\(r.version.rawValue)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }

    /// An nginx-like response: status line, Content-Length and a small HTML body.
    static func response(status: Int, close: Bool) -> [UInt8] {
        let title = "\(status) \(reason(status))"
        let body = "<html><head><title>\(title)</title></head><body><h1>\(title)</h1></body></html>\r\n"
        let head =
            "HTTP/1.1 \(title)\r\nServer: twlab\r\nContent-Type: text/html\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: \(close ? "close" : "keep-alive")\r\n\r\n"
        return Array((head + body).utf8)
    }

    /// The length of the head (through the blank line) at the start of `buf`, if complete.
    static func headLength(_ buf: [UInt8]) -> Int? {
        guard buf.count >= 2 else { return nil }
        var i = 0
        while i + 1 < buf.count {
            if buf[i] == 10 {
                if buf[i + 1] == 10 { return i + 2 }
                if buf[i + 1] == 13, i + 2 < buf.count, buf[i + 2] == 10 { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    /// The head's lines, split on LF with a trailing CR dropped (bytes: "\r\n" is one Character).
    private static func lines(_ head: ArraySlice<UInt8>) -> [Substring] {
        head.split(separator: 10).map { line in
            let bytes = line.last == 13 ? line.dropLast() : line
            return Substring(String(decoding: bytes, as: UTF8.self))
        }
    }

    private static func header(_ lines: [Substring], _ name: String) -> String? {
        var value: String? = nil
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == name {
                value = String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
                while let last = value?.last, last == " " || last == "\t" { value?.removeLast() }
            }
        }
        return value
    }

    /// A complete request head at the start of `buf`: its length and whether it asks the server
    /// to close after the response (``HTTPRequestSpec/asksServerToClose``).
    static func parseRequest(_ buf: [UInt8]) -> (length: Int, closes: Bool)? {
        guard let n = headLength(buf) else { return nil }
        let ls = lines(buf[0..<n])
        let words = ls.first?.split(separator: " ") ?? []
        let version: HTTPVersion = words.count >= 3 && words[2] == "HTTP/1.1" ? .v1_1 : .v1_0
        var spec = HTTPRequestSpec(version: version)
        if let c = header(ls, "connection") { spec.headers = [HTTPHeader(name: "Connection", value: c)] }
        return (n, spec.asksServerToClose)
    }

    enum ResponseState: Equatable {
        case incomplete
        /// A whole response: its status and how many bytes of `buf` it took.
        case complete(status: Int, length: Int)
        case malformed
    }

    /// A response at the start of `buf`: status line, headers and a Content-Length body.
    static func parseResponse(_ buf: [UInt8]) -> ResponseState {
        guard let n = headLength(buf) else { return .incomplete }
        let ls = lines(buf[0..<n])
        let words = ls.first?.split(separator: " ") ?? []
        guard words.count >= 2, words[0].hasPrefix("HTTP/"), let status = Int(words[1]) else {
            return .malformed
        }
        let bodyLength = header(ls, "content-length").flatMap { Int($0) } ?? 0
        guard buf.count >= n + bodyLength else { return .incomplete }
        return .complete(status: status, length: n + bodyLength)
    }
}
