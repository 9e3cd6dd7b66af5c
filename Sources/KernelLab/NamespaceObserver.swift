import HostInspect
import Results

/// Observes the namespace the calling process is in: sockets by netlink sock_diag (LQ-3: a
/// listener's Recv-Q is its accept queue, Send-Q its backlog) and counters from /proc/net
/// (CT-1). The agent runs inside its host's namespace, so this is that host's view.
public struct NamespaceObserver: AgentObserver {
    public init() {}

    public func snapshot() -> (states: [String: Int], listeners: [AgentListener]) {
        guard let sockets = try? SocketDiag.dumpTCP() else { return ([:], []) }
        let summary = SocketSummary(sockets)
        return (summary.states, Self.listeners(summary, sockets))
    }

    /// One row per listening port, as the scenario's listeners are (0.0.0.0 and :: listeners
    /// merge), with its SYN-RECV request socks counted.
    static func listeners(_ summary: SocketSummary, _ sockets: [DiagSocket]) -> [AgentListener] {
        var byPort: [Int: AgentListener] = [:]
        for l in summary.listeners where byPort[l.port] == nil {
            byPort[l.port] = AgentListener(port: l.port, recvQ: l.recvQ, sendQ: l.sendQ)
        }
        for s in sockets where s.ssName == "SYN-RECV" && byPort[s.localPort] != nil {
            byPort[s.localPort]!.synRecv += 1
        }
        return byPort.keys.sorted().map { byPort[$0]! }
    }

    public func counters() -> [String: Int64] { (try? ProcCounters.read()) ?? [:] }

    public func conntrackCounters() -> [String: Int64] { ConntrackCounters.read() }

    /// One sock_diag dump: states, listener queues with SYN-RECV per listening port, and ports
    /// held per destination group (local port in the range, not a listening port), as the
    /// simulator samples them.
    public func sample(portRange: ClosedRange<Int>) -> AgentSample {
        let sockets = (try? SocketDiag.dumpTCP()) ?? []
        let summary = SocketSummary(sockets)
        let listeners = Self.listeners(summary, sockets)
        let outbound = OutboundSockets(
            ports: EphemeralPorts(low: portRange.lowerBound, high: portRange.upperBound),
            listening: Set(listeners.map(\.port)))
        var ports: [String: Int] = [:]
        for s in sockets where outbound.contains(s) {
            ports[
                SeriesBuilder.portGroup(
                    source: s.localAddress, destination: s.remoteAddress, port: s.remotePort),
                default: 0] += 1
        }
        return AgentSample(
            states: summary.states, ports: ports, listeners: listeners,
            counters: counters())
    }
}
