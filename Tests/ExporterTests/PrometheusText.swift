/// A strict parser of the Prometheus text exposition format 0.0.4, for the tests: it accepts
/// exactly `# HELP name text`, `# TYPE name type` and `name{label="value",...} value [timestamp]`
/// lines, and rejects whatever a scraper would choke on or silently misread.
struct PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct ParseError: Error, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    var samples: [Sample] = []
    var types: [String: String] = [:]
    var help: [String: String] = [:]

    /// The samples named `name` whose labels include `labels`.
    func values(_ name: String, _ labels: [String: String] = [:]) -> [Double] {
        samples.filter { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }.map(
            \.value)
    }

    /// The one sample named `name` with `labels` (nil if none or several).
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let found = values(name, labels)
        return found.count == 1 ? found[0] : nil
    }

    /// Rules checked: metric and label names match the format's grammar; label values are
    /// quoted with only `\\`, `\"` and `\n` escapes; values are floats (or ±Inf, NaN); every
    /// family has at most one HELP and one TYPE, both before its samples; a family's samples are
    /// contiguous; no series repeats; counters are named `..._total`; the text ends with a
    /// newline.
    init(_ text: String) throws {
        guard text.isEmpty || text.hasSuffix("\n") else {
            throw ParseError(line: 0, message: "the text does not end with a newline")
        }
        var seenSeries = Set<String>()
        var finishedFamilies = Set<String>()
        var currentFamily: String?
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        for (index, raw) in lines.enumerated() {
            let number = index + 1
            let line = String(raw)
            func fail(_ message: String) -> ParseError {
                ParseError(line: number, message: "\(message): \(line)")
            }
            if line.isEmpty { throw fail("empty line") }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(
                    String.init)
                guard parts.count >= 3, parts[0] == "#", parts[1] == "HELP" || parts[1] == "TYPE" else {
                    throw fail("a comment other than HELP or TYPE")
                }
                let name = parts[2]
                guard Self.isMetricName(name) else { throw fail("bad metric name") }
                if finishedFamilies.contains(name) || (currentFamily == name && samplesSeen(name)) {
                    throw fail("HELP/TYPE after the family's samples")
                }
                if let current = currentFamily, current != name { finishedFamilies.insert(current) }
                currentFamily = name
                if parts[1] == "TYPE" {
                    guard parts.count == 4,
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3])
                    else { throw fail("bad TYPE") }
                    guard types[name] == nil else { throw fail("second TYPE") }
                    types[name] = parts[3]
                } else {
                    guard help[name] == nil else { throw fail("second HELP") }
                    let text = parts.count == 4 ? parts[3] : ""
                    guard Self.validEscapes(text, allowQuote: false) else { throw fail("bad escape in HELP") }
                    help[name] = text
                }
                continue
            }
            let sample = try Self.parseSample(line, number)
            let family = Self.family(of: sample.name, types: types)
            if let current = currentFamily, current != family {
                finishedFamilies.insert(current)
            }
            if finishedFamilies.contains(family) { throw fail("family \(family) is not contiguous") }
            if types[family] == "counter" && !family.hasSuffix("_total") {
                throw fail("a counter not named _total")
            }
            currentFamily = family
            let key =
                sample.name + "{"
                + sample.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: ",") + "}"
            guard seenSeries.insert(key).inserted else { throw fail("duplicate series") }
            samples.append(sample)
        }
    }

    private func samplesSeen(_ family: String) -> Bool {
        samples.contains { Self.family(of: $0.name, types: types) == family }
    }

    /// The family a sample belongs to: its own name, or for histogram/summary suffixes the base.
    static func family(of name: String, types: [String: String]) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let type = types[base], type == "histogram" || type == "summary" { return base }
        }
        return name
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII,
            first.properties.isAlphabetic || first == "_" || first == ":"
        else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == ":")
        }
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII,
            first.properties.isAlphabetic || first == "_"
        else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
        }
    }

    static func validEscapes(_ text: String, allowQuote: Bool) -> Bool {
        var escaped = false
        for c in text {
            if escaped {
                guard c == "\\" || c == "n" || (allowQuote && c == "\"") else { return false }
                escaped = false
            } else if c == "\\" {
                escaped = true
            }
        }
        return !escaped
    }

    static func parseSample(_ line: String, _ number: Int) throws -> Sample {
        func fail(_ message: String) -> ParseError {
            ParseError(line: number, message: "\(message): \(line)")
        }
        let chars = Array(line)
        var i = 0
        var name = ""
        while i < chars.count, chars[i] != "{", chars[i] != " " {
            name.append(chars[i])
            i += 1
        }
        guard isMetricName(name) else { throw fail("bad metric name") }
        var labels: [String: String] = [:]
        if i < chars.count, chars[i] == "{" {
            i += 1
            while true {
                guard i < chars.count else { throw fail("unterminated labels") }
                if chars[i] == "}" {
                    i += 1
                    break
                }
                var label = ""
                while i < chars.count, chars[i] != "=" {
                    label.append(chars[i])
                    i += 1
                }
                guard isLabelName(label), i + 1 < chars.count, chars[i + 1] == "\"" else {
                    throw fail("bad label name")
                }
                guard labels[label] == nil else { throw fail("repeated label \(label)") }
                i += 2
                var value = ""
                var closed = false
                while i < chars.count {
                    let c = chars[i]
                    if c == "\\" {
                        guard i + 1 < chars.count else { throw fail("dangling escape") }
                        switch chars[i + 1] {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw fail("bad escape in a label value")
                        }
                        i += 2
                        continue
                    }
                    if c == "\"" {
                        closed = true
                        i += 1
                        break
                    }
                    value.append(c)
                    i += 1
                }
                guard closed else { throw fail("unterminated label value") }
                labels[label] = value
                guard i < chars.count else { throw fail("unterminated labels") }
                if chars[i] == "," {
                    i += 1
                } else if chars[i] != "}" {
                    throw fail("expected , or }")
                }
            }
        }
        guard i < chars.count, chars[i] == " " else { throw fail("no space before the value") }
        let rest = String(chars[(i + 1)...]).split(separator: " ", omittingEmptySubsequences: false)
        guard rest.count == 1 || rest.count == 2 else { throw fail("bad value") }
        let text = String(rest[0])
        let value: Double
        switch text {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let v = Double(text), text.allSatisfy({ "0123456789.eE+-".contains($0) }) else {
                throw fail("bad value")
            }
            value = v
        }
        if rest.count == 2 { guard Int64(rest[1]) != nil else { throw fail("bad timestamp") } }
        return Sample(name: name, labels: labels, value: value)
    }
}
