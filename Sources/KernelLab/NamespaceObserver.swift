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

    /// One sock_diag dump: states, listener queues with SYN-RECV per listening port, and ports
    /// held per destination group (local port in the range, not a listening port), as the
    /// simulator samples them.
    public func sample(portRange: ClosedRange<Int>) -> AgentSample {
        let sockets = (try? SocketDiag.dumpTCP()) ?? []
        let summary = SocketSummary(sockets)
        var listeners: [Int: AgentSampleListener] = [:]
        for l in summary.listeners where listeners[l.port] == nil {
            listeners[l.port] = AgentSampleListener(
                port: l.port, backlog: l.sendQ, recvQ: l.recvQ, synRecv: 0)
        }
        var ports: [String: Int] = [:]
        for s in sockets where s.ssName != "LISTEN" && s.ssName != "CLOSE" {
            if s.ssName == "SYN-RECV", listeners[s.localPort] != nil {
                listeners[s.localPort]!.synRecv += 1
                continue
            }
            guard portRange.contains(s.localPort), listeners[s.localPort] == nil else { continue }
            ports["\(s.localAddress)>\(s.remoteAddress):\(s.remotePort)", default: 0] += 1
        }
        return AgentSample(
            states: summary.states, ports: ports, listeners: listeners.keys.sorted().map { listeners[$0]! },
            counters: counters())
    }
}
