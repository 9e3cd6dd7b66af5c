import Results
import Scenario

extension TerminalReport {
    /// One snapshot: per host, its socket states in `ss` order and its listeners the way
    /// `ss -lnt` shows them.
    static func snapshotSection(_ snapshot: Snapshot, scenario: Scenario) -> [String] {
        let isAfterWorkload = scenario.observe.contains { point in
            if case .after(let name) = point { return name == snapshot.at }
            return false
        }
        let label = isAfterWorkload ? "after \(snapshot.at)" : snapshot.at
        var lines = ["snapshot \(label) (t=\(fixed(snapshot.time, decimals: 3)) s)"]

        let states = snapshot.hosts.map(orderedStates)
        let nameWidth = states.flatMap { $0.map(\.key.count) }.max() ?? 0
        let valueWidth = states.flatMap { $0.map { String($0.count).count } }.max() ?? 0
        for (host, hostStates) in zip(snapshot.hosts, states) {
            let total = hostStates.reduce(0) { $0 + $1.count }
            lines.append(
                "  \(host.host): "
                    + (total == 0 ? "no sockets" : "\(total) \(total == 1 ? "socket" : "sockets")"))
            for state in hostStates {
                lines.append(
                    "    " + state.key.padded(to: nameWidth) + "  "
                        + String(state.count).leftPadded(to: valueWidth))
            }
            if !host.listeners.isEmpty {
                lines += listenerTable(host.listeners).map { "    " + $0 }
            }
        }
        return lines
    }

    /// States in the order `ss` lists them, then any other name in byte order; zeros left out.
    static func orderedStates(_ host: HostSnapshot) -> [Outcome] {
        let known = ssStateOrder.compactMap { name in host.states.first { $0.key == name } }
        let others = host.states.filter { !ssStateOrder.contains($0.key) }
            .sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        return (known + others).filter { $0.count != 0 }
    }

    /// `ss -lnt`: Recv-Q is the accept queue, Send-Q the backlog; listeners bind the wildcard.
    static func listenerTable(_ listeners: [ListenerSnapshot]) -> [String] {
        var rows = [["State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"]]
        for l in listeners.sorted(by: { $0.port < $1.port }) {
            rows.append(["LISTEN", String(l.recvQ), String(l.sendQ), "0.0.0.0:\(l.port)", "0.0.0.0:*"])
        }
        return table(rows)
    }
}
