/// What the stack shows to observers: `ss`-like summaries and time-series views.
/// What `ss -ant` and `ss -lnt` would show for one host.
public struct StackSummary: Sendable, Equatable {
    /// Count per state (ss names), zero counts left out, in ss order.
    public var states: [(name: String, count: Int)]
    /// Listeners: port, Recv-Q (accept queue), Send-Q (backlog) (LQ-3), SYN-RECV requests.
    public var listeners: [(port: Int, recvQ: Int, sendQ: Int, synRecv: Int)]

    public static func == (a: Self, b: Self) -> Bool {
        a.states.map { "\($0.name)=\($0.count)" } == b.states.map { "\($0.name)=\($0.count)" }
            && a.listeners.map { "\($0.port)/\($0.recvQ)/\($0.sendQ)/\($0.synRecv)" }
                == b.listeners.map { "\($0.port)/\($0.recvQ)/\($0.sendQ)/\($0.synRecv)" }
    }
}

extension HostStack {
    /// Counts sockets by state as `ss -ant` does: timewait sockets in the FIN_WAIT2 substate
    /// show as FIN-WAIT-2, request sockets as SYN-RECV.
    public func summary() -> StackSummary {
        var counts = Array(repeating: 0, count: TCPState.allCases.count)
        for s in sockets where s.live { counts[Int(s.state.rawValue)] += 1 }
        for w in timeWaits where w.live {
            counts[Int((w.finWait2 ? TCPState.finWait2 : .timeWait).rawValue)] += 1
        }
        for q in requests where q.live { counts[Int(TCPState.synRecv.rawValue)] += 1 }
        counts[Int(TCPState.listen.rawValue)] += listeners.count
        let order: [TCPState] = [
            .established, .synSent, .synRecv, .finWait1, .finWait2, .timeWait, .closeWait, .lastAck,
            .closing, .listen,
        ]
        let states = order.compactMap { st -> (String, Int)? in
            let c = counts[Int(st.rawValue)]
            return c > 0 ? (st.ssName, c) : nil
        }
        let ls = listenerQueues().map {
            (port: $0.port, recvQ: $0.recvQ, sendQ: $0.backlog, synRecv: $0.synRecv)
        }
        return StackSummary(states: states.map { (name: $0.0, count: $0.1) }, listeners: ls)
    }
}

extension HostStack {
    /// Each listener's port, backlog, accept-queue length (Recv-Q) and SYN-RECV requests.
    public func listenerQueues() -> [(port: Int, backlog: Int, recvQ: Int, synRecv: Int)] {
        var synRecv = Array(repeating: 0, count: listeners.count)
        for q in requests where q.live && q.listener >= 0 { synRecv[Int(q.listener)] += 1 }
        return listeners.indices.map {
            (Int(listeners[$0].port), listeners[$0].backlog, listeners[$0].acceptQueueLength, synRecv[$0])
        }
    }

    /// Ports held per outbound destination group (EP-6): sockets and timewait sockets whose
    /// local port is in `ip_local_port_range` and is not a listening port, grouped by
    /// (local address, remote address, remote port). The kernel engine counts the same way from
    /// sock_diag, so the two line up.
    public func portsHeld() -> [(source: IPv4Address, destination: IPv4Address, port: UInt16, count: Int)] {
        var groups: [PortAllocator.DestinationKey: Int] = [:]
        func add(_ t: FourTuple) {
            guard t.localPort >= sysctls.portRangeLow, t.localPort <= sysctls.portRangeHigh,
                listenerByPort[Int(t.localPort)] < 0
            else { return }
            groups[
                .init(source: t.localAddress, destination: t.remoteAddress, port: t.remotePort), default: 0] +=
                1
        }
        for s in sockets where s.live && s.state != .listen { add(s.tuple) }
        for w in timeWaits where w.live { add(w.tuple) }
        return groups.map { ($0.key.source, $0.key.destination, $0.key.port, $0.value) }
            .sorted { ($0.source, $0.destination, $0.port) < ($1.source, $1.destination, $1.port) }
    }
}
