import Results

/// `twlab compare`'s side-by-side table.
public enum ComparisonReport {
    /// Renders the compared keys (all keys with `everything`), marking each difference, and a
    /// summary line.
    public static func render(
        _ c: Comparison, scenario: String, kernel: String, everything: Bool, style: TerminalReport.Style
    ) -> String {
        let rows = c.rows.filter { everything || $0.verdict != .informational }
        let keyWidth = max(3, rows.map(\.key.count).max() ?? 3)
        let simWidth = max(9, rows.map(\.simulator.count).max() ?? 9)
        let kerWidth = max(6, rows.map(\.kernel.count).max() ?? 6)
        var out = "\(scenario): simulator (6.18 profile) vs kernel \(kernel)\n"
        out +=
            "  " + pad("key", keyWidth) + "  " + pad("simulator", simWidth) + "  " + pad("kernel", kerWidth)
            + "\n"
        for r in rows {
            let mark: String
            switch r.verdict {
            case .same: mark = ""
            case .tolerated: mark = "  ≈ within the kernel's variation"
            case .knownGap: mark = "  ≠ a known model gap (the scenario declares it)"
            case .differs: mark = style.color ? "  \u{1B}[31m✘ differs\u{1B}[0m" : "  ✘ differs"
            case .informational: mark = "  (not compared)"
            }
            out +=
                "  " + pad(r.key, keyWidth) + "  " + lpad(r.simulator, simWidth) + "  "
                + lpad(r.kernel, kerWidth)
            out += mark + "\n"
        }
        let compared = c.rows.filter { $0.verdict != .informational }
        let same = compared.filter { $0.verdict == .same }.count
        let tolerated = compared.filter { $0.verdict == .tolerated }.count
        let differ = c.differences.count
        let gaps = compared.filter { $0.verdict == .knownGap }.count
        var summary =
            "  \(compared.count) keys compared: \(same) equal, \(tolerated) within the kernel's variation, "
            + (gaps > 0 ? "\(gaps) known model gap\(gaps == 1 ? "" : "s"), " : "") + "\(differ) differ"
        if differ == 0 { summary = style.color ? "\u{1B}[32m\(summary)\u{1B}[0m" : summary }
        return out + summary + "\n"
    }

    private static func pad(_ s: String, _ w: Int) -> String {
        s + String(repeating: " ", count: max(0, w - s.count))
    }
    private static func lpad(_ s: String, _ w: Int) -> String {
        String(repeating: " ", count: max(0, w - s.count)) + s
    }
}
