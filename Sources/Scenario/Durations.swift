import LinuxTCP

/// Duration and rate syntax of scenario files: `1.5s`, `250ms`, `100us`, `2m`, `3d`, `2000/s`.
enum Durations {
    /// Units from the longest suffix to the shortest, so `ms` wins over `s`.
    static let units: [(suffix: String, nanos: Int64)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
        ("m", 60_000_000_000), ("h", 3_600_000_000_000), ("d", 86_400_000_000_000),
    ]

    static let examples = "e.g. 1.5s, 250ms, 100us, 2m, 1h, 3d"
    /// The longest duration a scenario may write.
    static let maxDuration: Nanos = 1000 * 86_400_000_000_000
    /// The fastest rate a scenario may write.
    static let maxRate: Double = 10_000_000

    /// Parses a duration exactly into integer nanoseconds; the error is a message without the
    /// value's name.
    ///
    /// "0" alone needs no unit. Decimals are converted without floating point, so `0.1ms` is
    /// exactly 100000 ns; a value finer than a nanosecond is an error, not a rounding.
    static func parse(_ text: String) -> Result<Nanos, DurationError> {
        if text == "0" { return .success(0) }
        if text.hasPrefix("-") { return .failure(.init("'\(text)' is negative; durations start at 0")) }
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) }) else {
            if Decimal.parse(text) != nil {
                return .failure(.init("'\(text)' needs a unit (\(examples))"))
            }
            return .failure(.init("'\(text)' is not a duration (\(examples))"))
        }
        let number = String(text.dropLast(unit.suffix.count))
        guard let d = Decimal.parse(number) else {
            return .failure(.init("'\(text)' is not a duration (\(examples))"))
        }
        guard let n = d.times(unit.nanos) else {
            if d.fitsInt64Times(unit.nanos) {
                return .failure(.init("'\(text)' is finer than one nanosecond"))
            }
            return .failure(.init("'\(text)' is too large"))
        }
        // Simulated clocks add durations to uptimes and timers: keep far from Int64's end.
        guard n <= maxDuration else { return .failure(.init("'\(text)' is too long (at most 1000d)")) }
        return .success(n)
    }

    /// Parses a rate such as `2000/s`, `1.5/s` or `120/m` into events per second.
    static func parseRate(_ text: String) -> Result<Double, DurationError> {
        let examplesRate = "e.g. 2000/s, 1.5/s, 120/m"
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            if Decimal.parse(text) != nil {
                return .failure(.init("'\(text)' needs a unit: write \(text)/s"))
            }
            return .failure(.init("'\(text)' is not a rate (\(examplesRate))"))
        }
        let per: Double
        switch parts[1] {
        case "s": per = 1
        case "m", "min": per = 60
        case "h": per = 3600
        default: return .failure(.init("'\(text)' is not a rate (\(examplesRate))"))
        }
        guard Decimal.parse(String(parts[0])) != nil, let v = Double(String(parts[0])) else {
            return .failure(.init("'\(text)' is not a rate (\(examplesRate))"))
        }
        guard v / per <= maxRate else { return .failure(.init("'\(text)' is too fast (at most 10000000/s)")) }
        return .success(v / per)
    }

    /// A non-negative decimal written as digits with an optional fraction: `12`, `1.5`, `0.05`.
    struct Decimal {
        var integer: String
        var fraction: String

        static func parse(_ s: String) -> Decimal? {
            let parts = s.split(separator: ".", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), !parts[0].isEmpty,
                parts[0].allSatisfy({ $0.isASCII && $0.isNumber })
            else { return nil }
            if parts.count == 2 {
                guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    return nil
                }
            }
            return Decimal(integer: String(parts[0]), fraction: parts.count == 2 ? String(parts[1]) : "")
        }

        /// `self × unit` when it is a whole number that fits in Int64.
        func times(_ unit: Int64) -> Int64? {
            guard let whole = wholeTimes(unit) else { return nil }
            guard let (frac, exact) = fractionTimes(unit), exact else { return nil }
            let (sum, o) = whole.addingReportingOverflow(frac)
            return o ? nil : sum
        }

        /// Whether the value fits (ignoring a fraction finer than 1): tells "too fine" from "too large".
        func fitsInt64Times(_ unit: Int64) -> Bool {
            guard let whole = wholeTimes(unit), let (frac, _) = fractionTimes(unit) else { return false }
            return !whole.addingReportingOverflow(frac).overflow
        }

        private func wholeTimes(_ unit: Int64) -> Int64? {
            let digits = integer.drop { $0 == "0" }
            if digits.isEmpty { return 0 }
            guard digits.count <= 19, let i = Int64(digits) else { return nil }
            let (p, o) = i.multipliedReportingOverflow(by: unit)
            return o ? nil : p
        }

        /// The fraction times `unit`, truncated, and whether that was exact.
        private func fractionTimes(_ unit: Int64) -> (Int64, Bool)? {
            var f = Substring(fraction)
            while f.last == "0" { f.removeLast() }
            if f.isEmpty { return (0, true) }
            // unit < 10^14 and the fraction is below 1, so only the first 18 digits can matter
            // for exactness up to 10^-18 s; longer fractions are finer than a nanosecond.
            guard f.count <= 18, let num = Int64(f) else { return (0, false) }
            var scale: Int64 = 1
            for _ in 0..<f.count { scale *= 10 }
            // num × unit / scale without overflow: num < scale ≤ 10^18, unit ≤ 8.64e13.
            let (hi, lo) = num.multipliedFullWidth(by: unit)
            let (q, r) = scale.dividingFullWidth((hi, lo))
            return (q, r == 0)
        }
    }
}

/// Why a duration or rate did not parse.
struct DurationError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
