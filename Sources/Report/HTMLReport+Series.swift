import Results
import Scenario

/// The charts of a result's time series, for one engine or two on the same axes.
extension HTMLReport {
    /// One engine's result drawn on a chart; `engine` is nil on a single run's report.
    struct Source {
        var engine: String?
        var series: Series
    }

    /// The charts section: every chart, or a note saying how to get them.
    static func chartsSection(_ result: RunResult, scenario: Scenario, sampleIntervalChosen: Bool) -> String {
        var html = "<section id=\"charts\">\n<h2>Over time</h2>\n"
        if result.series.isEmpty {
            return html + noSeriesNote + "</section>\n"
        }
        if sampleIntervalChosen { html += chosenIntervalNote(scenario) }
        let charts = self.charts(
            [Source(engine: nil, series: result.series)], scenario: scenario, differing: [])
        for (i, chart) in charts.enumerated() { html += figure(chart, id: "chart-\(i + 1)") }
        return html + "</section>\n"
    }

    /// Says that the page chose the sample interval (``defaultSampleInterval(runs:)``).
    static func chosenIntervalNote(_ scenario: Scenario) -> String {
        guard let every = scenario.sampleEvery else { return "" }
        return "<p class=\"note\">Sampled every \(escape(formatDuration(every))) for this page: neither the"
            + " scenario nor <code>--sample</code> gives an interval, so a hundredth of the run, rounded up.</p>\n"
    }

    static let noSeriesNote =
        "<p class=\"note\">This result has no time series, so there are no charts. Add"
        + " <code>sample_every: 1s</code> to the scenario, or run with <code>--sample 100ms</code>,"
        + " to get them.</p>\n"

    /// Every chart for the given sources, in a fixed order: each workload's outcomes, then per
    /// host its socket states, its ports per destination, each listener's queues and its
    /// counters. `differing` holds the comparison keys that differ, to highlight their series.
    static func charts(_ sources: [Source], scenario: Scenario, differing: [String]) -> [Chart] {
        var charts: [Chart] = []
        let interval = samplingWords(sources, scenario: scenario)

        // Outcomes per interval, per workload.
        var workloads: [String] = []
        for s in sources {
            for w in s.series.workloads where !workloads.contains(w.workload) { workloads.append(w.workload) }
        }
        for name in workloads {
            let lines = union(sources) { $0.workloads.first { $0.workload == name }?.outcomes ?? [] }
            guard !lines.isEmpty else { continue }
            let keys = sortedKeys(lines.map(\.name))
            let colors = outcomeColors(keys)
            let spec = scenario.workloads.first { $0.name == name }
            var isConnect = false
            var unit = "requests per interval"
            if let spec {
                switch spec.kind {
                case .connect:
                    isConnect = true
                    unit = "connects per interval"
                case .synflood: unit = "SYNs per interval"
                default: break
                }
            }
            var chartLines: [Line] = []
            for (key, color) in zip(keys, colors) {
                for s in sources {
                    guard let w = s.series.workloads.first(where: { $0.workload == name }),
                        let v = w.outcomes.first(where: { $0.name == key })
                    else { continue }
                    chartLines.append(
                        Line(
                            key: key, label: TerminalReport.outcomeLine(key, isConnect: isConnect),
                            color: color,
                            points: points(s.series.time, v.values), engine: s.engine,
                            differs: differing.contains("workloads.\(name).outcomes.\(key)")))
                }
            }
            charts.append(
                Chart(
                    title: "Outcomes of \(name) over time", yLabel: unit, lines: chartLines,
                    note:
                        "Each point counts the attempts that ended in the interval up to that sample\(interval).",
                    kind: .outcomes))
        }

        // Per host.
        var hosts: [String] = []
        for s in sources { for h in s.series.hosts where !hosts.contains(h.host) { hosts.append(h.host) } }
        for host in hosts {
            let spec = scenario.host(named: host)
            let isClient = scenario.workloads.contains { w in
                if case .synflood = w.kind { return false }
                return w.from == host
            }
            let portLimits: [Limit] = spec.map { [portLimit($0)] } ?? []
            func hostSeries(_ s: Source) -> HostSeries? { s.series.hosts.first { $0.host == host } }

            // Socket states.
            let states = union(sources) { hostSeries(Source(engine: nil, series: $0))?.states ?? [] }
            if !states.isEmpty {
                var keys = ssStateOrder.filter { k in states.contains { $0.name == k } }
                keys += sortedKeys(states.map(\.name).filter { !ssStateOrder.contains($0) })
                let colors = assignColors(keys, preferred: stateColor)
                var lines: [Line] = []
                for (key, color) in zip(keys, colors) {
                    let differs = differing.contains {
                        $0.hasPrefix("snapshots.") && $0.hasSuffix(".hosts.\(host).states.\(key)")
                    }
                    lines += sourceLines(sources, key: key, label: key, color: color, differs: differs) {
                        hostSeries($0)?.states.first { $0.name == key }?.values
                    }
                }
                charts.append(
                    Chart(
                        title: "Sockets on \(host) by state", yLabel: "sockets", lines: lines,
                        limits: isClient ? portLimits : [],
                        note: "Counted as ss counts them, at each sample\(interval)."
                            + (isClient
                                ? " The grey dashed line is the ephemeral ports this host can use." : ""),
                        kind: .states))
            }

            // Ports per destination.
            let ports = union(sources) { hostSeries(Source(engine: nil, series: $0))?.ports ?? [] }
            if !ports.isEmpty {
                let keys = sortedKeys(ports.map(\.name))
                var lines: [Line] = []
                for (i, key) in keys.enumerated() {
                    lines += sourceLines(
                        sources, key: "ports-" + key, label: destinationLabel(key), color: i, differs: false
                    ) {
                        hostSeries($0)?.ports.first { $0.name == key }?.values
                    }
                }
                charts.append(
                    Chart(
                        title: "Ports in use on \(host), per destination", yLabel: "ports", lines: lines,
                        limits: portLimits,
                        note:
                            "Local ports held (connected or in TIME-WAIT) towards each destination address and port,"
                            + " the unit in which ports run out (EP-6)\(interval).", kind: .ports))
            }

            // Listener queues.
            var listenerPorts: [Int] = []
            for s in sources {
                for l in hostSeries(s)?.listeners ?? [] where !listenerPorts.contains(l.port) {
                    listenerPorts.append(l.port)
                }
            }
            listenerPorts.sort()
            for port in listenerPorts {
                func listener(_ s: Source) -> ListenerSeries? {
                    hostSeries(s)?.listeners.first { $0.port == port }
                }
                let backlog = sources.lazy.compactMap { listener($0)?.backlog }.first ?? 0
                let recvDiffers = differing.contains {
                    $0.hasPrefix("snapshots.") && $0.hasSuffix(".hosts.\(host).listeners.\(port).recv_q")
                }
                let synDiffers = differing.contains {
                    $0.hasPrefix("snapshots.") && $0.hasSuffix(".hosts.\(host).states.SYN-RECV")
                }
                var lines = sourceLines(
                    sources, key: "recv-q", label: "accept queue (Recv-Q)", color: 0, differs: recvDiffers
                ) { listener($0)?.recvQ }
                lines += sourceLines(
                    sources, key: "syn-recv", label: "SYN-RECV", color: 3, differs: synDiffers
                ) {
                    listener($0)?.synRecv
                }
                charts.append(
                    Chart(
                        title: "Listen queues of \(host):\(port)", yLabel: "queue length", lines: lines,
                        limits: [
                            Limit(
                                value: Double(backlog + 1),
                                label: "accept queue limit: backlog \(backlog) + 1")
                        ],
                        note:
                            "Recv-Q is the accept queue (children waiting for accept()), SYN-RECV the requests"
                            + " waiting for the handshake's last ACK\(interval).", kind: .listener))
            }

            // Counters that moved.
            let counters = union(sources) { hostSeries(Source(engine: nil, series: $0))?.counters ?? [] }
            if !counters.isEmpty {
                let keys = sortedKeys(counters.map(\.name))
                var lines: [Line] = []
                for (i, key) in keys.enumerated() {
                    lines += sourceLines(
                        sources, key: key, label: key, color: i,
                        differs: differing.contains("counters.\(host).\(key)")
                    ) { hostSeries($0)?.counters.first { $0.name == key }?.values }
                }
                charts.append(
                    Chart(
                        title: "Counters on \(host) that moved", yLabel: "count per interval", lines: lines,
                        note:
                            "nstat names; each point is the counter's change over the interval up to that sample"
                            + "\(interval).", kind: .counters))
            }
        }
        return charts
    }

    /// One line per source that has the series.
    private static func sourceLines(
        _ sources: [Source], key: String, label: String, color: Int, differs: Bool, values: (Source) -> [Int]?
    ) -> [Line] {
        sources.compactMap { s in
            values(s).map {
                Line(
                    key: key, label: label, color: color, points: points(s.series.time, $0), engine: s.engine,
                    differs: differs)
            }
        }
    }

    /// Every named series the sources have under `pick`, first occurrence of each name.
    /// The series of every source by name, leaving out those that are zero throughout in all of
    /// them (the engines report fixed key sets: every state, every counter).
    private static func union(_ sources: [Source], _ pick: (Series) -> [NamedSeries]) -> [NamedSeries] {
        var out: [NamedSeries] = []
        for s in sources {
            for n in pick(s.series) where !out.contains(where: { $0.name == n.name }) { out.append(n) }
        }
        return out.filter { n in
            sources.contains { s in
                pick(s.series).first { $0.name == n.name }?.values.contains { $0 != 0 } ?? false
            }
        }
    }

    /// Names in byte order (`LC_ALL=C sort`), duplicates removed.
    static func sortedKeys(_ names: [String]) -> [String] {
        var out: [String] = []
        for n in names where !out.contains(n) { out.append(n) }
        return out.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// "SRC>DST:PORT" as "SRC → DST:PORT".
    static func destinationLabel(_ group: String) -> String {
        guard let i = group.firstIndex(of: ">") else { return group }
        return group[..<i] + " → " + group[group.index(after: i)...]
    }

    /// The limit line of a client host: the ports in `ip_local_port_range`, counted the way
    /// connect() counts them (EP-1).
    static func portLimit(_ host: HostSpec) -> Limit {
        // Every port can be used, but with an odd-sized range one connect() scans only size − 1
        // candidates, so a fill may stop one short (EP-1, lab-notes row s).
        let size = host.sysctls.portRangeSize
        let label =
            usablePorts(host) == size
            ? "ports in the range: \(size)"
            : "ports in the range: \(size) (one connect() scans \(size - 1): a fill may stop there, EP-1)"
        return Limit(value: Double(size), label: label, brief: "ports in the range: \(size)")
    }

    /// ", sampled every 1s" from the scenario, or from the samples themselves.
    private static func samplingWords(_ sources: [Source], scenario: Scenario) -> String {
        if let every = scenario.sampleEvery { return ", sampled every \(formatDuration(every))" }
        for s in sources where s.series.time.count >= 2 {
            return ", sampled every \(seconds(s.series.time[1] - s.series.time[0]))"
        }
        return ""
    }
}
