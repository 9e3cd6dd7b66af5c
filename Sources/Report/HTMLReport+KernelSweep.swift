import Results
import Scenario

/// `twlab run NAME --kernel all --html`: one scenario simulated on every kernel profile, as one
/// page: the sweep's table (the columns ``KernelSweepReport/Columns`` chooses, as on the
/// terminal), why some profiles did not run, and a grid of small multiples, one panel per
/// profile with that run's charts, on axes shared across the panels.
extension HTMLReport {
    /// The sweep's page.
    ///
    /// `scenario` is the scenario as written (with the user's overrides), for the header and
    /// the scenario in words; each row carries its profile's result and the scenario as loaded
    /// for that profile (its port range and somaxconn draw the limit lines). Consecutive
    /// profiles whose results are identical (every key and every sample but the kernel's name)
    /// and whose charts are drawn alike share one panel, titled with the range ("4.9 – 6.18").
    /// `sampleIntervalChosen` says that the sample interval was chosen for this page
    /// (``defaultSampleInterval(_:)``), not by the scenario or `--sample`.
    ///
    /// - Complexity: O(p · n log n) for p profiles of n samples, series and keys each.
    public static func renderKernelSweep(
        scenario: Scenario, rows: [KernelSweepReport.Row], sampleIntervalChosen: Bool = false
    ) -> String {
        var described = scenario
        if described.sampleEvery == nil {
            described.sampleEvery = rows.lazy.compactMap { $0.scenario?.sampleEvery }.first
        }
        let ran = rows.filter { (try? $0.outcome.get()) != nil }.count
        var profiles = "\(rows.count) profiles"
        if let first = rows.first, let last = rows.last {
            profiles += ", \(escape(first.kernel)) to \(escape(last.kernel))"
        }
        if ran < rows.count { profiles += "; \(ran) ran" }

        var body = "<header>\n<h1>\(escape(scenario.name))</h1>\n"
        body +=
            "<p class=\"meta\">simulator, every kernel profile (\(profiles)), seed \(scenario.seed)</p>\n"
            + "</header>\n<main>\n"
        body += scenarioSection(described, everyProfile: true)
        body += sweepTableSection(rows)
        body += panelsSection(rows, scenario: scenario, sampleIntervalChosen: sampleIntervalChosen)
        body += "</main>\n"
        return page(
            title: "twlab run \(scenario.name) --kernel all", body: body, extraCSS: sweepCSS,
            bodyClass: "sweep")
    }

    /// The sample interval of a page's charts when neither the scenario nor `--sample` gives
    /// one: a hundredth of the longest run (its last snapshot, or its `duration`), rounded up to
    /// 1, 2 or 5 times a power of ten, so that each run has at most about a hundred samples:
    /// 0.269 s gives 5ms, 72.7 s gives 1s. In nanoseconds, at least 1 µs; 10ms when no run says
    /// how long it was. For a sweep, the runs of the profiles that ran.
    public static func defaultSampleInterval(_ rows: [KernelSweepReport.Row]) -> Int64 {
        defaultSampleInterval(
            runs: rows.compactMap { row in (try? row.outcome.get()).map { ($0, row.scenario) } })
    }

    /// The same for any runs (a single run's page, or a comparison's simulator run).
    public static func defaultSampleInterval(runs: [(result: RunResult, scenario: Scenario?)]) -> Int64 {
        var longest = 0.0
        for (r, scenario) in runs {
            longest = max(longest, r.snapshots.map(\.time).max() ?? 0)
            if let d = scenario?.duration { longest = max(longest, Double(d) / 1e9) }
        }
        guard longest > 0, longest.isFinite else { return 10_000_000 }
        let (step, _) = Axis.niceStep(longest / 100)
        return max(1000, Int64((step * 1e9).rounded()))
    }

    // MARK: - The table

    /// One row per profile, the columns the terminal's table has; a value that changed from the
    /// profile above is marked; then why profiles did not run and what every profile agrees on.
    static func sweepTableSection(_ rows: [KernelSweepReport.Row]) -> String {
        let columns = KernelSweepReport.Columns(rows)
        var html = "<section id=\"sweep\">\n<h2>Every kernel profile</h2>\n"
        html +=
            "<p>One row per profile, oldest first: each workload's outcomes, then the end states and the"
            + " counters (nstat names, deltas over the run) that differ between the profiles. A value that"
            + " changed from the profile above is marked.</p>\n"
        html += "<div class=\"wide\"><table class=\"sweep\">\n<thead><tr><th>kernel</th>"
        for w in columns.workloads { html += "<th><code>\(escape(w))</code></th>" }
        for k in columns.varying { html += "<th class=\"num\">\(escape(k))</th>" }
        html += "</tr></thead>\n<tbody>\n"
        var previous: [String]? = nil
        for row in rows {
            switch row.outcome {
            case .success(let r):
                let cells = columns.cells(r)
                html += "<tr><td>\(escape(row.kernel))</td>"
                for (i, cell) in cells.enumerated() {
                    var classes: [String] = i < columns.workloads.count ? [] : ["num"]
                    if let p = previous, i < p.count, p[i] != cell { classes.append("changed") }
                    let c = classes.isEmpty ? "" : " class=\"\(classes.joined(separator: " "))\""
                    html += "<td\(c)>\(escape(cell))</td>"
                }
                html += "</tr>\n"
                previous = cells
            case .failure:
                let span = max(1, columns.workloads.count + columns.varying.count)
                html +=
                    "<tr class=\"not-run\"><td>\(escape(row.kernel))</td>"
                    + "<td colspan=\"\(span)\">not run (below)</td></tr>\n"
            }
        }
        html += "</tbody>\n</table></div>\n"

        let notRun = rows.compactMap { row -> String? in
            guard case .failure(let e) = row.outcome else { return nil }
            return "<li><strong>\(escape(row.kernel))</strong>: \(escape(e.message))</li>\n"
        }
        if !notRun.isEmpty {
            html += "<h3>Not run</h3>\n<ul class=\"not-run\">\n" + notRun.joined() + "</ul>\n"
        }
        if !columns.constant.isEmpty {
            html += "<h3>The same on every profile that ran</h3>\n"
            html +=
                "<table class=\"constant\">\n<thead><tr><th>key</th><th class=\"num\">value</th></tr></thead>\n"
            html += "<tbody>\n"
            for c in columns.constant {
                html += "<tr><td>\(escape(c.key))</td><td class=\"num\">\(escape(c.value))</td></tr>\n"
            }
            html += "</tbody>\n</table>\n"
        }
        return html + "</section>\n"
    }

    // MARK: - The panels

    /// Profiles sharing one panel: their results are identical.
    private struct Panel {
        var kernels: [String]
        var charts: [Chart]
    }

    /// The grid of panels: per profile (or run of identical profiles), each workload's outcomes,
    /// then per host its sockets by state, its ports per destination and its listen queues.
    /// The counters are left out (the table has those that differ).
    static func panelsSection(_ rows: [KernelSweepReport.Row], scenario: Scenario, sampleIntervalChosen: Bool)
        -> String
    {
        var html = "<section id=\"profiles\">\n<h2>Over time, one panel per profile</h2>\n"
        var panels: [Panel] = []
        var previous: (result: RunResult, drawn: String)? = nil
        for row in rows {
            guard case .success(let r) = row.outcome else {
                previous = nil
                continue
            }
            let charts = self.charts(
                [Source(engine: nil, series: r.series)], scenario: row.scenario ?? scenario, differing: []
            )
            .filter { $0.kind != .counters }
            .map { chart -> Chart in
                var c = chart
                c.small = true
                return c
            }
            var anonymous = r
            anonymous.kernel = ""
            let drawn = charts.map { figure($0, id: "c") }.joined()
            if let p = previous, p.result == anonymous, p.drawn == drawn {
                panels[panels.count - 1].kernels.append(row.kernel)
            } else {
                panels.append(Panel(kernels: [row.kernel], charts: charts))
            }
            previous = (anonymous, drawn)
        }
        guard panels.contains(where: { !$0.charts.isEmpty }) else {
            return html + noSeriesNote + "</section>\n"
        }

        // Every chart title in the panels' order, and one scale per title.
        var titles: [String] = []
        for panel in panels {
            var at = 0
            for chart in panel.charts {
                if let i = titles.firstIndex(of: chart.title) {
                    at = i + 1
                } else {
                    titles.insert(chart.title, at: at)
                    at += 1
                }
            }
        }
        let xMax = rows.compactMap { try? $0.outcome.get().series.time.last }.max() ?? 0
        var scales: [String: Scale] = [:]
        for title in titles {
            scales[title] = Scale(
                fitting: panels.compactMap { p in p.charts.first { $0.title == title } }, xMax: xMax)
        }

        let interval = sampleIntervalWords(rows, chosen: sampleIntervalChosen)
        html +=
            "<p>One panel per kernel profile that ran, oldest first; profiles whose results are identical"
            + " (every outcome, state, counter and sample) share a panel. Each chart of one kind has the same"
            + " axes in every panel, so the panels compare by eye\(interval). A grey dashed line is a limit:"
            + " the ephemeral ports a client host can use, or a listener's accept queue; it is drawn when the"
            + " data reach a tenth of it. The counters are in the table above.</p>\n"
        html += "<div class=\"panels\">\n"
        for (i, panel) in panels.enumerated() {
            let first = panel.kernels[0]
            let title =
                panel.kernels.count == 1 ? first : "\(first) – \(panel.kernels[panel.kernels.count - 1])"
            html +=
                "<article class=\"panel\" id=\"kernel-\(classToken(first))\""
                + " data-kernels=\"\(escape(panel.kernels.joined(separator: " ")))\">\n"
            html += "<h3>\(escape(title))</h3>\n"
            // One line in every panel, so that the charts of the panels in a row line up.
            let list = panel.kernels.map(escape).joined(separator: ", ")
            html +=
                panel.kernels.count == 1
                ? "<p class=\"kernels\">1 profile</p>\n"
                : "<p class=\"kernels\" title=\"\(list)\">\(panel.kernels.count) profiles, identical results: \(list)</p>\n"
            for (j, title) in titles.enumerated() {
                let id = "k\(i + 1)-chart-\(j + 1)"
                guard var chart = panel.charts.first(where: { $0.title == title }) else {
                    html +=
                        "<p class=\"absent\" id=\"\(id)\">\(escape(title)): nothing on this profile.</p>\n"
                    continue
                }
                chart.scale = scales[title]
                html += figure(chart, id: id)
            }
            html += "</article>\n"
        }
        return html + "</div>\n</section>\n"
    }

    /// ", sampled every 5ms (…)" from the profiles' scenarios.
    private static func sampleIntervalWords(_ rows: [KernelSweepReport.Row], chosen: Bool) -> String {
        guard let every = rows.lazy.compactMap({ $0.scenario?.sampleEvery }).first else { return "" }
        var words = "; sampled every \(escape(formatDuration(every)))"
        if chosen {
            words +=
                " (neither the scenario nor <code>--sample</code> gives an interval, so a hundredth of the"
                + " longest run, rounded up)"
        }
        return words
    }

    /// Style for the sweep page only (the body has class `sweep`), after the shared style sheet.
    static let sweepCSS = """
        body.sweep { max-width: 1480px; }
        .wide { overflow-x: auto; }
        table.sweep td { white-space: nowrap; }
        table.sweep td.changed { background: var(--warn-bg); font-weight: 600; }
        table.sweep tr.not-run td { color: var(--muted); }
        ul.not-run li { overflow-wrap: anywhere; }
        .panels { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 340px), 1fr));
          gap: 14px; align-items: start; }
        .panel { border: 1px solid var(--border); border-radius: 6px; padding: 2px 10px 6px; min-width: 0; }
        .panel h3 { margin: 0.5em 0 0.2em; font-size: 1.15em; }
        .panel p.kernels, .panel p.absent { color: var(--muted); font-size: 0.85em; margin: 0.2em 0; }
        .panel p.kernels { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        .panel figure.chart { margin: 0.6em 0; padding: 4px 6px; }
        .panel figcaption { font-size: 0.85em; }
        .panel svg.chart text, .panel svg.chart text.axis-label { font-size: 13px; }
        .panel .legend { font-size: 0.8em; gap: 2px 12px; }

        """
}
