import LinuxTCP
import Results

extension TerminalReport {
    /// "expectations (what Linux 6.18.44 did here): 4 of 5 met" and one line per unmet
    /// expectation: its path, what this run gave, what the kernel gave.
    static func expectationsSection(_ verdicts: [Expectation.Verdict], kernel: String, style: Style)
        -> [String]
    {
        let met = verdicts.filter(\.passed).count
        let allMet = met == verdicts.count
        let summary = "\(met) of \(verdicts.count) met"
        var lines = [
            "expectations (\(expectationSource(kernel))): "
                + paint(summary, allMet ? .green : .red, style)
        ]
        for v in verdicts where !v.passed || v.knownGap {
            let actual = v.actual.map { " = \($0)" } ?? " is not in the result"
            let text = "\(v.expectation.path)\(actual), kernel gave \(v.expectation.matcher)"
            if v.passed {
                lines.append("  ≠ \(text): a known model gap, declared in the scenario")
            } else {
                let gap = v.knownGap ? " (the declared model gap is \(v.expectation.model ?? 0))" : ""
                lines.append("  " + paint("✘", .red, style) + " " + text + gap)
            }
        }
        return lines
    }

    /// Whose figures the expectations are: the real kernel's for the newest profile, the seed
    /// documents' for an older one (this machine cannot run that kernel).
    static func expectationSource(_ profile: String) -> String {
        profile == KernelProfile.newest.name
            ? "what \(expectationKernel) did here" : "the seed's figures for kernel \(profile)"
    }

    enum Color: String {
        case green = "32"
        case red = "31"
    }

    /// `text` in `color` when the style allows colour.
    static func paint(_ text: String, _ color: Color, _ style: Style) -> String {
        style.color ? "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m" : text
    }
}
