/// Text helpers for the HTML report: escaping, class names and numbers written the same way on
/// every machine and locale (no Foundation).
extension HTMLReport {
    /// `text` safe inside an element or a quoted attribute: `& < > " '` as character references.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A CSS class token made from any name: ASCII letters, digits, `-` and `_` kept, every
    /// other character written as `_`. "TIME-WAIT" stays "TIME-WAIT".
    static func classToken(_ name: String) -> String {
        var out = ""
        for c in name.unicodeScalars {
            let v = c.value
            let keep =
                (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || c == "-"
                || c == "_"
            out += keep ? String(c) : "_"
        }
        return out.isEmpty ? "_" : out
    }

    /// A number with at most `decimals` digits after the point and no trailing zeros:
    /// 12, 12.5, 0.25.
    static func number(_ v: Double, decimals: Int = 1) -> String {
        var s = fixed(v, decimals: decimals)
        guard decimals > 0, s.contains(".") else { return s }
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }

    /// Seconds the way a person reads them: "0.2 s", "64.5 s", "120 s".
    static func seconds(_ v: Double) -> String {
        number(v, decimals: v != 0 && abs(v) < 1 ? 3 : 1) + " s"
    }

    /// "1 request", "2 requests".
    static func plural(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }
}
