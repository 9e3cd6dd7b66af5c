/// Small text helpers for aligned, locale-independent terminal output (no Foundation).
extension String {
    /// Left-aligned in `width` columns (counted in characters).
    func padded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// Right-aligned in `width` columns.
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

    /// Without spaces at the end.
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}

/// `v` with exactly `decimals` digits after the point, rounded half away from zero; the same
/// text on every machine and locale.
func fixed(_ v: Double, decimals: Int) -> String {
    guard v.isFinite else { return String(v) }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int64((abs(v) * scale).rounded(.toNearestOrAwayFromZero))
    let sign = v < 0 && scaled != 0 ? "-" : ""
    var digits = String(scaled)
    guard decimals > 0 else { return sign + digits }
    if digits.count <= decimals {
        digits = String(repeating: "0", count: decimals - digits.count + 1) + digits
    }
    let point = digits.index(digits.endIndex, offsetBy: -decimals)
    return sign + digits[..<point] + "." + digits[point...]
}

/// Columns left-aligned and one space apart, like `ss`; the last column is not padded.
func table(_ rows: [[String]]) -> [String] {
    let columns = rows.map(\.count).max() ?? 0
    var widths = [Int](repeating: 0, count: columns)
    for row in rows {
        for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
    }
    return rows.map { row in
        row.enumerated()
            .map { i, cell in i == row.count - 1 ? cell : cell.padded(to: widths[i]) }
            .joined(separator: " ")
    }
}
