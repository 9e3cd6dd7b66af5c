import HostInspect

/// Observes the namespace the calling process is in: sockets by netlink sock_diag (LQ-3: a
/// listener's Recv-Q is its accept queue, Send-Q its backlog) and counters from /proc/net
/// (CT-1). The agent runs inside its host's namespace, so this is that host's view.
public struct NamespaceObserver: AgentObserver {
    public init() {}

    public func snapshot() -> (states: [String: Int], listeners: [AgentListener]) {
        guard let sockets = try? SocketDiag.dumpTCP() else { return ([:], []) }
        let summary = SocketSummary(sockets)
        // One row per port, as the scenario's listeners are (0.0.0.0 and :: listeners merge).
        var byPort: [Int: AgentListener] = [:]
        for l in summary.listeners where byPort[l.port] == nil {
            byPort[l.port] = AgentListener(port: l.port, recvQ: l.recvQ, sendQ: l.sendQ)
        }
        return (summary.states, byPort.keys.sorted().map { byPort[$0]! })
    }

    public func counters() -> [String: Int64] { (try? ProcCounters.read()) ?? [:] }
}
