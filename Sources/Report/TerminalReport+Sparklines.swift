import Results

extension TerminalReport {
    /// Compact sparklines of the time series under the tables: TIME-WAIT per host and the
    /// failures of each workload per interval. Only on a terminal that takes colour (the CLI
    /// turns `color` off when piped or with NO_COLOR), and only when the run was sampled.
    static func sparklineSection(_ series: Series, style: Style) -> [String] {
        guard style.color, series.time.count > 1 else { return [] }
        var rows: [(String, [Int])] = []
        for h in series.hosts {
            if let tw = h.states.first(where: { $0.name == "TIME-WAIT" }),
                tw.values.contains(where: { $0 > 0 })
            {
                rows.append(("\(h.host) TIME-WAIT", tw.values))
            }
        }
        for w in series.workloads {
            let failures = w.outcomes.filter { isFailure($0.name) }
            guard !failures.isEmpty else { continue }
            let sums = series.time.indices.map { i in failures.reduce(0) { $0 + $1.values[i] } }
            rows.append(("\(w.workload) failures", sums))
        }
        guard !rows.isEmpty else { return [] }
        let width = rows.map(\.0.count).max() ?? 0
        let end = series.time.last ?? 0
        var lines = ["over time (0 to \(formatSeconds(end)) s, \(series.time.count) samples)"]
        for (name, values) in rows {
            let pad = String(repeating: " ", count: width - name.count)
            lines.append("  \(name)\(pad)  \(sparkline(values))  max \(values.max() ?? 0)")
        }
        return lines
    }

    /// Outcomes that are not a success: errno names and "pending".
    static func isFailure(_ key: String) -> Bool { key.hasPrefix("E") || key == "pending" }

    /// One block character per value, scaled to the largest.
    static func sparkline(_ values: [Int]) -> String {
        let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        let top = max(values.max() ?? 0, 1)
        return String(values.map { v in v <= 0 ? " " : blocks[min(7, (v * 8 - 1) / top)] })
    }

    static func formatSeconds(_ t: Double) -> String {
        let r = (t * 1000).rounded() / 1000
        return r == r.rounded() ? String(Int(r)) : String(r)
    }
}
