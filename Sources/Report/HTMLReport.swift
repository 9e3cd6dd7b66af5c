import Results
import Scenario

/// Renders a ``RunResult`` as one self-contained HTML page: the scenario in words, the outcome
/// histograms, charts of the time series as inline SVG, the snapshots, the counters that moved
/// and the expectations.
///
/// The page loads nothing (no script at all, no link, no font, no image): CSS and SVG are
/// inline, and colours follow `prefers-color-scheme`. Numbers are written without locale and
/// nothing is iterated in hash order, so the same result gives the same bytes.
public enum HTMLReport {
    /// One run's report. `verdicts` (may be empty) are the scenario's expectations checked
    /// against `result`. The usable port count of each client host, drawn as a limit line, comes
    /// from the scenario's `net.ipv4.ip_local_port_range`.
    ///
    /// - Complexity: O(n log n) in the number of samples, series, outcome keys and counters.
    /// `sampleIntervalChosen`: the run was sampled for this page at an interval the scenario
    /// did not give (the page says so).
    public static func render(
        _ result: RunResult, scenario: Scenario, verdicts: [Expectation.Verdict],
        sampleIntervalChosen: Bool = false
    ) -> String {
        var body = "<header>\n<h1>\(escape(result.scenario))</h1>\n"
        body +=
            "<p class=\"meta\">engine <strong>\(escape(result.engine))</strong>, kernel"
            + " <strong>\(escape(result.kernel))</strong>, seed \(scenario.seed)</p>\n</header>\n"
        body += "<main>\n"
        body += scenarioSection(scenario)
        body += outcomesSection(result, scenario: scenario)
        body += chartsSection(result, scenario: scenario, sampleIntervalChosen: sampleIntervalChosen)
        body += snapshotsSection(result.snapshots, scenario: scenario)
        body += countersSection(result.counters)
        if !verdicts.isEmpty { body += expectationsSection(verdicts, kernel: scenario.kernel.name) }
        body += "</main>\n"
        return page(title: "twlab run \(result.scenario) (\(result.engine))", body: body)
    }

    // MARK: - Page

    /// The page around `body`; `extraCSS` follows the shared style sheet, `bodyClass` lets it
    /// apply to one kind of page only.
    static func page(title: String, body: String, extraCSS: String = "", bodyClass: String? = nil) -> String {
        var html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        html += "<meta name=\"color-scheme\" content=\"light dark\">\n"
        html += "<title>\(escape(title))</title>\n<style>\n\(css)\(extraCSS)</style>\n</head>\n"
        html += "<body\(bodyClass.map { " class=\"\($0)\"" } ?? "")>\n"
        html += body
        html +=
            "<footer>Made by twlab. This page is self-contained: no scripts, nothing loaded from elsewhere.</footer>\n"
        html += "</body>\n</html>\n"
        return html
    }

    static let css = """
        :root {
          color-scheme: light dark;
          --bg: #ffffff; --fg: #1b1f24; --muted: #5c6570; --grid: #e3e6ea; --axis: #5c6570;
          --panel: #f5f7f9; --border: #d0d5db; --bad: #b3261e; --bad-bg: #fbe9e7; --good: #1e7b34;
          --warn-bg: #fff6d6; --limit: #6b7280;
          --c0: #1f77b4; --c1: #d62728; --c2: #2ca02c; --c3: #e8710a; --c4: #9467bd;
          --c5: #8c564b; --c6: #d44fad; --c7: #0f9fb0; --c8: #9a9b12; --c9: #7f7f7f;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #16191d; --fg: #e6e8eb; --muted: #a3abb5; --grid: #2c3238; --axis: #a3abb5;
            --panel: #1f2328; --border: #3a4149; --bad: #ff8a80; --bad-bg: #3b1f1d; --good: #7ddc8f;
            --warn-bg: #3a3420; --limit: #b6bdc6;
            --c0: #6cb4ee; --c1: #ff6b6b; --c2: #5fd35f; --c3: #ffa94d; --c4: #c3a6e8;
            --c5: #d2a493; --c6: #f5a3dc; --c7: #4fd8e8; --c8: #dcdc5a; --c9: #b0b0b0;
          }
        }
        body { background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
          margin: 0 auto; max-width: 980px; padding: 16px 24px 48px; }
        h1 { font-size: 1.6em; margin: 0.4em 0 0; overflow-wrap: anywhere; }
        h2 { font-size: 1.25em; border-bottom: 1px solid var(--border); padding-bottom: 4px; margin-top: 1.8em; }
        h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
        code { font: 0.92em ui-monospace, "DejaVu Sans Mono", monospace; }
        .meta, figcaption, footer, .note { color: var(--muted); }
        .note { background: var(--warn-bg); padding: 8px 12px; border-radius: 6px; color: var(--fg); }
        table { border-collapse: collapse; margin: 0.4em 0 1em; font-variant-numeric: tabular-nums; }
        th, td { border: 1px solid var(--border); padding: 3px 10px; text-align: left; }
        th { background: var(--panel); font-weight: 600; }
        td.num, th.num { text-align: right; }
        tr.differs td, tr.unmet td { background: var(--bad-bg); }
        tr.informational td { color: var(--muted); }
        .bad, .differs strong { color: var(--bad); font-weight: 600; }
        .good { color: var(--good); font-weight: 600; }
        td.bar { width: 320px; }
        td.bar span { display: block; height: 12px; min-width: 1px; border-radius: 2px; }
        figure.chart { margin: 1.2em 0; padding: 8px; border: 1px solid var(--border); border-radius: 6px; }
        svg.chart { display: block; width: 100%; height: auto; margin-top: 6px; }
        svg.chart text { fill: var(--fg); font: 11px system-ui, sans-serif; }
        svg.chart text.axis-label { font-size: 12px; fill: var(--muted); }
        .grid line { stroke: var(--grid); stroke-width: 1; }
        .axis line { stroke: var(--axis); stroke-width: 1; }
        .limit { stroke: var(--limit); stroke-width: 1.5; stroke-dasharray: 6 4; }
        svg.chart text.limit-label { fill: var(--limit); font-style: italic; }
        .series { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
        .series.engine-kernel { stroke-dasharray: 7 4; }
        .series.differs { stroke-width: 3; }
        .legend { list-style: none; margin: 4px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 18px;
          font-size: 0.9em; }
        .legend li { display: flex; align-items: center; gap: 6px; }
        .legend .swatch { display: inline-block; width: 22px; border-top: 3px solid; }
        .legend .swatch.engine-kernel { border-top-style: dashed; }
        figcaption { font-size: 0.9em; }
        figcaption strong { color: var(--fg); font-size: 1.05em; }
        .c0 { stroke: var(--c0); color: var(--c0); } td.bar span.c0 { background: var(--c0); }
        .c1 { stroke: var(--c1); color: var(--c1); } td.bar span.c1 { background: var(--c1); }
        .c2 { stroke: var(--c2); color: var(--c2); } td.bar span.c2 { background: var(--c2); }
        .c3 { stroke: var(--c3); color: var(--c3); } td.bar span.c3 { background: var(--c3); }
        .c4 { stroke: var(--c4); color: var(--c4); } td.bar span.c4 { background: var(--c4); }
        .c5 { stroke: var(--c5); color: var(--c5); } td.bar span.c5 { background: var(--c5); }
        .c6 { stroke: var(--c6); color: var(--c6); } td.bar span.c6 { background: var(--c6); }
        .c7 { stroke: var(--c7); color: var(--c7); } td.bar span.c7 { background: var(--c7); }
        .c8 { stroke: var(--c8); color: var(--c8); } td.bar span.c8 { background: var(--c8); }
        .c9 { stroke: var(--c9); color: var(--c9); } td.bar span.c9 { background: var(--c9); }
        .legend li { color: var(--fg); }
        .legend li.differs { font-weight: 600; }
        .legend li.c0 .swatch { border-color: var(--c0); } .legend li.c1 .swatch { border-color: var(--c1); }
        .legend li.c2 .swatch { border-color: var(--c2); } .legend li.c3 .swatch { border-color: var(--c3); }
        .legend li.c4 .swatch { border-color: var(--c4); } .legend li.c5 .swatch { border-color: var(--c5); }
        .legend li.c6 .swatch { border-color: var(--c6); } .legend li.c7 .swatch { border-color: var(--c7); }
        .legend li.c8 .swatch { border-color: var(--c8); } .legend li.c9 .swatch { border-color: var(--c9); }
        footer { margin-top: 3em; font-size: 0.85em; }

        """

    // MARK: - Outcomes

    /// Per workload: a `sort | uniq -c` histogram with bars, latency, local ports and rounds.
    static func outcomesSection(_ result: RunResult, scenario: Scenario) -> String {
        guard !result.workloads.isEmpty else { return "" }
        var html = "<section id=\"outcomes\">\n<h2>Outcomes</h2>\n"
        for w in result.workloads {
            let spec = scenario.workloads.first { $0.name == w.name }
            var title = "<code>\(escape(w.name))</code>"
            if let spec {
                title +=
                    " (\(spec.kind.name)): \(escape(spec.from)) → \(escape(spec.to.address.description)):\(spec.to.port)"
            }
            html += "<h3>\(title), \(plural(w.attempts, "attempt"))</h3>\n"
            html += histogramTable(
                w, isConnect: spec.map { if case .connect = $0.kind { true } else { false } } ?? false)
            var facts: [String] = []
            if let l = w.latency {
                facts.append(
                    "latency p50 \(TerminalReport.millis(l.p50)) ms, p99 \(TerminalReport.millis(l.p99)) ms")
            }
            if !w.localPorts.isEmpty {
                facts.append("local ports \(TerminalReport.portList(w.localPorts)) (\(w.localPorts.count))")
            }
            if w.timestampOffsets > 0 {
                facts.append(TerminalReport.timestampOffsetsText(w.timestampOffsets))
            }
            if !w.socketErrors.isEmpty {
                facts.append(escape(TerminalReport.socketErrorsText(w.socketErrors)))
            }
            if !w.rounds.isEmpty {
                let isConnect = spec.map { if case .connect = $0.kind { true } else { false } } ?? false
                facts.append("rounds: " + TerminalReport.roundsText(w.rounds, isConnect: isConnect))
            }
            if !facts.isEmpty { html += "<p>" + facts.map(escape).joined(separator: "; ") + ".</p>\n" }
        }
        return html + "</section>\n"
    }

    /// The outcome lines in `LC_ALL=C sort` order, as `uniq -c` counts with a bar each.
    static func histogramTable(_ w: WorkloadResult, isConnect: Bool) -> String {
        let total = max(1, w.outcomes.reduce(0) { $0 + $1.count })
        let colors = outcomeColors(w.outcomes.map(\.key))
        let rows = zip(w.outcomes, colors)
            .map { (o, c) in
                (line: TerminalReport.outcomeLine(o.key, isConnect: isConnect), outcome: o, color: c)
            }
            .sorted { Array($0.line.utf8).lexicographicallyPrecedes(Array($1.line.utf8)) }
        var html = "<table class=\"histogram\">\n<thead><tr><th class=\"num\">count</th><th>outcome</th>"
        html += "<th>share</th></tr></thead>\n<tbody>\n"
        for r in rows {
            let share = Double(r.outcome.count) / Double(total) * 100
            html += "<tr><td class=\"num\">\(r.outcome.count)</td><td><code>\(escape(r.line))</code></td>"
            html +=
                "<td class=\"bar\"><span class=\"c\(r.color)\" style=\"width: \(number(share))%\"></span></td></tr>\n"
        }
        return html + "</tbody>\n</table>\n"
    }

    /// Whether an outcome key is a success: an HTTP status, "connected" or "sent".
    static func isSuccess(_ key: String) -> Bool {
        key == "connected" || key == "sent" || (!key.isEmpty && key.allSatisfy(\.isASCIIDigitCharacter))
    }

    /// A palette index per outcome key: successes green, EADDRNOTAVAIL red, ETIMEDOUT orange,
    /// ECONNRESET purple, ECONNREFUSED brown, pending grey; other keys take the colours left.
    static func outcomeColors(_ keys: [String]) -> [Int] {
        assignColors(keys) { key in
            switch key {
            case "EADDRNOTAVAIL": return 1
            case "ETIMEDOUT": return 3
            case "ECONNRESET": return 4
            case "ECONNREFUSED": return 5
            case "pending": return 9
            default: return isSuccess(key) ? 2 : nil
            }
        }
    }

    /// Colours for `keys`: each key's preferred colour the first time it is asked for, the
    /// unused colours in a fixed order otherwise.
    static func assignColors(_ keys: [String], preferred: (String) -> Int?) -> [Int] {
        var used: [Int] = []
        var colors: [Int] = []
        var pending: [Int] = []
        for (i, key) in keys.enumerated() {
            if let p = preferred(key), !used.contains(p) {
                used.append(p)
                colors.append(p)
            } else {
                colors.append(-1)
                pending.append(i)
            }
        }
        let spare = [0, 7, 6, 8, 4, 5, 3, 2, 1, 9]
        var next = 0
        for i in pending {
            var c = spare[next % spare.count]
            var tries = 0
            while used.contains(c) && tries < spare.count {
                next += 1
                tries += 1
                c = spare[next % spare.count]
            }
            next += 1
            used.append(c)
            colors[i] = c
        }
        return colors
    }

    /// Socket states keep one colour each on every chart; TIME-WAIT is red.
    static func stateColor(_ state: String) -> Int? {
        switch state {
        case "ESTAB": return 0
        case "TIME-WAIT": return 1
        case "LISTEN": return 2
        case "SYN-RECV": return 3
        case "LAST-ACK": return 4
        case "CLOSE-WAIT": return 5
        case "FIN-WAIT-1": return 6
        case "SYN-SENT": return 7
        case "FIN-WAIT-2": return 8
        case "CLOSING": return 9
        default: return nil
        }
    }

    // MARK: - Snapshots, counters, expectations

    /// Per snapshot: hosts by socket state (`ss` order), then the listeners as `ss -lnt` shows them.
    static func snapshotsSection(_ snapshots: [Snapshot], scenario: Scenario) -> String {
        guard !snapshots.isEmpty else { return "" }
        var html = "<section id=\"snapshots\">\n<h2>Snapshots</h2>\n"
        for snapshot in snapshots {
            let isAfter = scenario.observe.contains {
                if case .after(let w) = $0 { w == snapshot.at } else { false }
            }
            let label = isAfter ? "after <code>\(escape(snapshot.at))</code>" : escape(snapshot.at)
            html += "<h3>Snapshot \(label) (t = \(fixed(snapshot.time, decimals: 3)) s)</h3>\n"
            let perHost = snapshot.hosts.map { TerminalReport.orderedStates($0) }
            var states: [String] = []
            for s in ssStateOrder where perHost.contains(where: { $0.contains { $0.key == s } }) {
                states.append(s)
            }
            for hostStates in perHost {
                for s in hostStates where !states.contains(s.key) { states.append(s.key) }
            }
            html += "<table class=\"states\">\n<thead><tr><th>host</th>"
            for s in states { html += "<th class=\"num\">\(escape(s))</th>" }
            html += "<th class=\"num\">sockets</th></tr></thead>\n<tbody>\n"
            for (host, hostStates) in zip(snapshot.hosts, perHost) {
                html += "<tr><td>\(escape(host.host))</td>"
                for s in states {
                    html += "<td class=\"num\">\(hostStates.first { $0.key == s }?.count ?? 0)</td>"
                }
                html += "<td class=\"num\">\(hostStates.reduce(0) { $0 + $1.count })</td></tr>\n"
            }
            html += "</tbody>\n</table>\n"
            let listeners = snapshot.hosts.flatMap { h in
                h.listeners.sorted { $0.port < $1.port }.map { (h.host, $0) }
            }
            if !listeners.isEmpty {
                html +=
                    "<table class=\"listeners\">\n<thead><tr><th>host</th><th>State</th><th class=\"num\">Recv-Q</th>"
                html += "<th class=\"num\">Send-Q</th><th>Local Address:Port</th></tr></thead>\n<tbody>\n"
                for (host, l) in listeners {
                    html += "<tr><td>\(escape(host))</td><td>LISTEN</td><td class=\"num\">\(l.recvQ)</td>"
                    html += "<td class=\"num\">\(l.sendQ)</td><td><code>0.0.0.0:\(l.port)</code></td></tr>\n"
                }
                html += "</tbody>\n</table>\n"
            }
        }
        return html + "</section>\n"
    }

    /// The counters that moved, one column per host (`nstat` names, deltas over the run).
    static func countersSection(_ counters: [HostCounters]) -> String {
        let hosts = counters.filter { $0.values.contains { $0.count != 0 } }
        guard !hosts.isEmpty else { return "" }
        var names: [String] = []
        for h in hosts {
            for v in h.values where v.count != 0 && !names.contains(v.key) { names.append(v.key) }
        }
        names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var html = "<section id=\"counters\">\n<h2>Counters that moved</h2>\n"
        html += "<p>nstat names, deltas over the run.</p>\n"
        html += "<table class=\"counters\">\n<thead><tr><th>counter</th>"
        for h in hosts { html += "<th class=\"num\">\(escape(h.host))</th>" }
        html += "</tr></thead>\n<tbody>\n"
        for name in names {
            html += "<tr><td><code>\(escape(name))</code></td>"
            for h in hosts {
                let v = h.value(name)
                html += "<td class=\"num\">\(v == 0 ? "" : String(v))</td>"
            }
            html += "</tr>\n"
        }
        return html + "</tbody>\n</table>\n</section>\n"
    }

    /// "4 of 5 met" and every expectation with what this run gave and what the kernel gave.
    static func expectationsSection(_ verdicts: [Expectation.Verdict], kernel: String) -> String {
        let met = verdicts.filter(\.passed).count
        let summary = "\(met) of \(verdicts.count) met"
        var html = "<section id=\"expectations\">\n<h2>Expectations</h2>\n"
        let source = TerminalReport.expectationSource(kernel)
        html += "<p>\(escape(source.prefix(1).uppercased() + source.dropFirst())): "
        html += "<span class=\"\(met == verdicts.count ? "good" : "bad")\">\(summary)</span>.</p>\n"
        html +=
            "<table class=\"expectations\">\n<thead><tr><th></th><th>key</th><th class=\"num\">this run</th>"
        html += "<th class=\"num\">kernel gave</th></tr></thead>\n<tbody>\n"
        for v in verdicts {
            html +=
                "<tr\(v.passed ? "" : " class=\"unmet\"")><td>\(v.passed ? (v.knownGap ? "≠ known model gap" : "✔") : "<span class=\"bad\">✘</span>")</td>"
            html += "<td><code>\(escape(v.expectation.path))</code></td>"
            html += "<td class=\"num\">\(escape(v.actual ?? "absent"))</td>"
            html += "<td class=\"num\">\(escape(v.expectation.matcher.description))</td></tr>\n"
        }
        return html + "</tbody>\n</table>\n</section>\n"
    }
}
