import Results
import Scenario

/// Renders a ``RunResult`` for a terminal, in the forms a user of `curl`, `ss` and `nstat`
/// already reads: a `curl ... | sort | uniq -c` histogram per workload, `ss` state counts and
/// `ss -lnt` listeners per snapshot, `nstat` counter lines, then the expectations.
///
/// The renderer decides nothing about the terminal: the caller says in ``Style`` whether to use
/// colour (the command line turns it off when stdout is not a TTY or `NO_COLOR` is set).
public enum TerminalReport {
    /// How to draw the report.
    public struct Style: Sendable, Equatable {
        /// Green and red ANSI colours for met and unmet expectations.
        public var color: Bool

        public init(color: Bool) {
            self.color = color
        }

        /// No escape sequences at all: files, pipes, tests.
        public static let plain = Style(color: false)
    }

    /// The kernel that produced the expectations of the built-in scenarios (lab-notes.md).
    public static let expectationKernel = "Linux 6.18.44"

    /// The whole report: header, workloads, snapshots, counters and, when `verdicts` is not
    /// empty, the expectations. Lines never end in spaces; the text ends with a newline.
    ///
    /// - Complexity: O(n log n) in the number of outcome keys, states and counters.
    public static func render(
        _ result: RunResult, scenario: Scenario, verdicts: [Expectation.Verdict], style: Style
    ) -> String {
        var sections: [[String]] = [header(result, scenario: scenario)]
        for workload in result.workloads {
            sections.append(
                workloadSection(workload, spec: scenario.workloads.first { $0.name == workload.name }))
        }
        for snapshot in result.snapshots {
            sections.append(snapshotSection(snapshot, scenario: scenario))
        }
        let counters = countersSection(result.counters)
        if !counters.isEmpty { sections.append(counters) }
        let sparklines = sparklineSection(result.series, style: style)
        if !sparklines.isEmpty { sections.append(sparklines) }
        if !verdicts.isEmpty {
            sections.append(expectationsSection(verdicts, kernel: scenario.kernel.name, style: style))
        }

        var text = ""
        for (i, section) in sections.enumerated() {
            if i > 0 { text += "\n" }
            for line in section { text += line.trimmingTrailingSpaces() + "\n" }
        }
        return text
    }

    // MARK: - Header

    /// Name, engine, kernel profile and seed; the description; one line per host with its
    /// address and the sysctls the scenario set (`sysctl -w` syntax).
    static func header(_ result: RunResult, scenario: Scenario) -> [String] {
        var lines = [
            result.scenario,
            "engine \(result.engine), kernel \(result.kernel), seed \(scenario.seed)",
        ]
        if !scenario.description.isEmpty { lines.append(scenario.description) }
        guard !scenario.hosts.isEmpty else { return lines }
        let nameWidth = scenario.hosts.map(\.name.count).max() ?? 0
        let addressTexts = scenario.hosts.map { $0.addresses.map(\.description).joined(separator: ",") }
        let addressWidth = addressTexts.map(\.count).max() ?? 0
        for (host, addresses) in zip(scenario.hosts, addressTexts) {
            var line = "  " + host.name.padded(to: nameWidth) + "  " + addresses.padded(to: addressWidth)
            for (name, value) in host.sysctlOverrides {
                line += "  \(name)=\(value.contains(" ") ? "\"\(value)\"" : value)"
            }
            lines.append(line)
        }
        return lines
    }
}
