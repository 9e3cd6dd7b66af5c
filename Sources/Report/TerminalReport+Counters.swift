import Results

extension TerminalReport {
    /// `nstat` lines per host: the counter name left-aligned, its delta right-aligned; zero
    /// deltas and hosts without any are left out. Names line up across hosts.
    static func countersSection(_ counters: [HostCounters]) -> [String] {
        let hosts = counters.map { hc in (hc.host, hc.values.filter { $0.count != 0 }) }.filter {
            !$0.1.isEmpty
        }
        guard !hosts.isEmpty else { return [] }
        let nameWidth = hosts.flatMap { $0.1.map(\.key.count) }.max() ?? 0
        let valueWidth = hosts.flatMap { $0.1.map { String($0.count).count } }.max() ?? 0
        var lines = ["counters (nstat, delta over the run)"]
        for (host, values) in hosts {
            lines.append("  \(host)")
            for v in values {
                lines.append(
                    "    " + v.key.padded(to: nameWidth) + "  " + String(v.count).leftPadded(to: valueWidth))
            }
        }
        return lines
    }
}
