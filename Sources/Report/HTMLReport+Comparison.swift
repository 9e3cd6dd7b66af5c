import Results
import Scenario

/// `twlab compare --html`: both engines' results on one page, their series on the same axes,
/// the keys that differ highlighted.
extension HTMLReport {
    /// Both engines on the same axes (simulator solid, kernel dashed), differing keys
    /// highlighted in the table and in the legends.
    ///
    /// - Complexity: O(n log n) in the number of samples, series and keys, plus O(k·d) to match
    ///   series with the d differing keys.
    public static func renderComparison(
        simulator: RunResult, kernel: RunResult, comparison: Comparison, scenario: Scenario,
        sampleIntervalChosen: Bool = false
    ) -> String {
        let compared = comparison.rows.filter { $0.verdict != .informational }
        let same = compared.filter { $0.verdict == .same }.count
        let tolerated = compared.filter { $0.verdict == .tolerated }.count
        let differing = comparison.differences.map(\.key)

        var body = "<header>\n<h1>\(escape(simulator.scenario))</h1>\n"
        body +=
            "<p class=\"meta\">simulator (\(escape(simulator.kernel)) profile) vs kernel"
            + " <strong>\(escape(kernel.kernel))</strong>, seed \(scenario.seed)</p>\n</header>\n<main>\n"
        body += "<p class=\"summary\">\(compared.count) keys compared: \(same) equal, \(tolerated) within the"
        body +=
            " kernel's variation, <span class=\"\(differing.isEmpty ? "good" : "bad")\">\(differing.count) differ</span>.</p>\n"
        body += scenarioSection(scenario)
        body += comparisonTable(comparison)
        body += outcomesComparison(simulator: simulator, kernel: kernel, comparison: comparison)

        body += "<section id=\"charts\">\n<h2>Over time</h2>\n"
        if simulator.series.isEmpty && kernel.series.isEmpty {
            body += noSeriesNote
        } else {
            if sampleIntervalChosen { body += chosenIntervalNote(scenario) }
            body +=
                "<p>Solid lines are the simulator, dashed lines the kernel; a series whose key differs is drawn"
                + " thicker and marked ✘ in its legend.</p>\n"
            let sources = [
                Source(engine: "simulator", series: simulator.series),
                Source(engine: "kernel", series: kernel.series),
            ]
            for (i, chart) in charts(sources, scenario: scenario, differing: differing).enumerated() {
                body += figure(chart, id: "chart-\(i + 1)")
            }
        }
        body += "</section>\n</main>\n"
        return page(title: "twlab compare \(simulator.scenario)", body: body)
    }

    /// Every key, each row marked by its verdict; differing rows first in colour.
    static func comparisonTable(_ c: Comparison) -> String {
        var html = "<section id=\"comparison\">\n<h2>Keys</h2>\n"
        html += "<table class=\"comparison\">\n<thead><tr><th>key</th><th class=\"num\">simulator</th>"
        html += "<th class=\"num\">kernel</th><th></th></tr></thead>\n<tbody>\n"
        for r in c.rows {
            let mark: String
            switch r.verdict {
            case .same: mark = ""
            case .tolerated: mark = "≈ within the kernel's variation"
            case .knownGap: mark = "≠ a known model gap (the scenario declares it)"
            case .differs: mark = "<strong class=\"bad\">✘ differs</strong>"
            case .informational: mark = "not compared"
            }
            html += "<tr class=\"\(verdictClass(r.verdict))\"><td><code>\(escape(r.key))</code></td>"
            html += "<td class=\"num\">\(escape(r.simulator))</td><td class=\"num\">\(escape(r.kernel))</td>"
            html += "<td>\(mark)</td></tr>\n"
        }
        return html + "</tbody>\n</table>\n</section>\n"
    }

    /// Each workload's outcomes, simulator and kernel side by side.
    static func outcomesComparison(simulator: RunResult, kernel: RunResult, comparison: Comparison) -> String
    {
        var names: [String] = []
        for r in [simulator, kernel] {
            for w in r.workloads where !names.contains(w.name) { names.append(w.name) }
        }
        guard !names.isEmpty else { return "" }
        var html = "<section id=\"outcomes\">\n<h2>Outcomes</h2>\n"
        for name in names {
            let a = simulator.workload(name)
            let b = kernel.workload(name)
            let keys = sortedKeys((a?.outcomes ?? []).map(\.key) + (b?.outcomes ?? []).map(\.key))
            html += "<h3><code>\(escape(name))</code></h3>\n"
            html += "<table class=\"histogram\">\n<thead><tr><th>outcome</th><th class=\"num\">simulator</th>"
            html += "<th class=\"num\">kernel</th></tr></thead>\n<tbody>\n"
            let rows =
                [("attempts", "workloads.\(name).attempts", a?.attempts, b?.attempts)]
                + keys.map { ($0, "workloads.\(name).outcomes.\($0)", a?.count($0), b?.count($0)) }
            for (key, path, x, y) in rows {
                let verdict = comparison.rows.first { $0.key == path }?.verdict
                html +=
                    "<tr\(verdict.map { " class=\"\(verdictClass($0))\"" } ?? "")><td><code>\(escape(key))</code></td>"
                html +=
                    "<td class=\"num\">\(x.map(String.init) ?? "-")</td><td class=\"num\">\(y.map(String.init) ?? "-")</td></tr>\n"
            }
            html += "</tbody>\n</table>\n"
        }
        return html + "</section>\n"
    }

    static func verdictClass(_ v: Comparison.Verdict) -> String {
        switch v {
        case .same: "same"
        case .tolerated: "tolerated"
        case .knownGap: "gap"
        case .differs: "differs"
        case .informational: "informational"
        }
    }
}
