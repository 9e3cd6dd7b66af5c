/// Who sits behind which NAT gateway, and which host can reach which (design.md `nat:`).
///
/// This is the one definition the validator, the simulator's routing and the kernel engine's
/// routes share. It is the topology seed-lab.sh's `topo_nat` builds: a gateway's inside hosts
/// share a network of their own behind it, where they reach each other and the gateway
/// directly, and they reach every outside host via the gateway, which masquerades them. Outside
/// hosts (gateways included) reach each other directly and have no route to an inside address,
/// so their connect() to one fails at once with ENETUNREACH; only conntrack's replies get in.
///
/// Hosts are named by their index in the scenario's host list.
public struct NATTopology: Sendable {
    /// The scenario's hosts, in file order.
    public let hosts: [HostSpec]
    /// Per host: the index of the gateway it sits behind.
    @usableFromInline let gatewayIndex: [Int?]

    /// The topology of `hosts`, whose `nat: inside` lists ``problem(in:)`` finds nothing wrong
    /// with (a host listed by two gateways counts as behind the first).
    public init(_ hosts: [HostSpec]) {
        self.hosts = hosts
        gatewayIndex = hosts.map { h in hosts.firstIndex { $0.nat?.inside.contains(h.name) == true } }
    }

    public init(_ scenario: Scenario) { self.init(scenario.hosts) }

    // MARK: - Who sits where

    /// A mistake in a gateway's `nat: inside` list: the gateway, the position in its list, why.
    public struct Problem: Sendable, Equatable {
        public var gateway: Int
        public var item: Int
        public var message: String
    }

    /// The first mistake in the hosts' `nat: inside` lists, or nil: each name must be another
    /// host, listed once, not itself a gateway, and behind one gateway only.
    public static func problem(in hosts: [HostSpec]) -> Problem? {
        var behind: [String: String] = [:]
        for (g, h) in hosts.enumerated() {
            guard let nat = h.nat else { continue }
            for (k, name) in nat.inside.enumerated() {
                func problem(_ message: String) -> Problem { Problem(gateway: g, item: k, message: message) }
                if nat.inside[..<k].contains(name) { return problem("\(quoted(name)) is listed twice") }
                guard let other = hosts.first(where: { $0.name == name }) else {
                    let names = hosts.map(\.name).joined(separator: ", ")
                    return problem("unknown host \(quoted(name)) (hosts: \(names))")
                }
                if other.name == h.name { return problem("a gateway cannot be inside itself") }
                if other.nat != nil { return problem("\(quoted(name)) is itself a NAT gateway") }
                if let first = behind[name] {
                    return problem("\(quoted(name)) is already behind gateway '\(first)'")
                }
                behind[name] = h.name
            }
        }
        return nil
    }

    /// The index of the host called `name`.
    public func index(of name: String) -> Int? { hosts.firstIndex { $0.name == name } }

    /// Whether host `k` is a NAT gateway.
    public func isGateway(_ k: Int) -> Bool { hosts[k].nat != nil }

    /// The gateways' indices, in host order.
    public var gateways: [Int] { hosts.indices.filter(isGateway) }

    /// The index of the gateway host `k` sits behind, if any.
    @inlinable public func gateway(of k: Int) -> Int? { gatewayIndex[k] }

    /// The hosts behind gateway `g`, in host order.
    public func inside(of g: Int) -> [Int] { hosts.indices.filter { gatewayIndex[$0] == g } }

    // MARK: - Who reaches whom

    /// How a packet from one host gets to another.
    public enum Route: Sendable, Equatable {
        /// Straight there (the same network, or the host itself).
        case direct
        /// Through this gateway, which masquerades it.
        case via(Int)
        /// No route: connect() fails at once with ENETUNREACH.
        case unreachable
    }

    /// How a packet from host `from` gets to host `to`: an inside host reaches its own network
    /// (the other hosts behind its gateway, and the gateway) directly and every outside host via
    /// its gateway; a gateway reaches its inside hosts; nothing else reaches an inside host.
    @inlinable public func route(from: Int, to: Int) -> Route {
        if from == to { return .direct }
        if let g = gatewayIndex[to] { return from == g || gatewayIndex[from] == g ? .direct : .unreachable }
        if let g = gatewayIndex[from], g != to { return .via(g) }
        return .direct
    }

    /// Why host `k` cannot run a workload, or nil: a gateway only forwards.
    public func whyNoClient(_ k: Int) -> String? {
        isGateway(k) ? "'\(hosts[k].name)' is a NAT gateway; workloads run on the hosts behind it" : nil
    }

    /// Why a workload on host `from` cannot connect to host `to`, or nil when it can.
    ///
    /// Both engines agree on a workload only where NAT is either not involved or applies the
    /// way `topo_nat` applies it: from an inside host to an outside one that is not a gateway.
    /// So a workload may not run on a gateway, connect to one, connect to a host behind its own
    /// gateway (the traffic would not pass the NAT), or connect to a host behind another
    /// gateway, or from outside to an inside host (no route there).
    public func whyUnreachable(from: Int, to: Int) -> String? {
        if let why = whyNoClient(from) { return why }
        if from == to { return nil }
        let a = "'\(hosts[from].name)'"
        let b = "'\(hosts[to].name)'"
        if isGateway(to) {
            return "\(a) cannot connect to \(b): \(b) is a NAT gateway, which forwards and serves nothing"
        }
        switch (gatewayIndex[from], gatewayIndex[to]) {
        case (let g?, let h?) where g == h:
            return
                "\(a) cannot connect to \(b): both are behind gateway '\(hosts[g].name)', and NAT applies only between inside and outside"
        case (let g?, let h?):
            return
                "\(a) cannot connect to \(b): \(b) is behind gateway '\(hosts[h].name)' and \(a) behind '\(hosts[g].name)'; no route leads to a host behind another gateway"
        case (nil, let h?):
            return
                "\(a) cannot connect to \(b): \(b) is behind gateway '\(hosts[h].name)' and hosts outside it have no route there"
        default:
            return nil
        }
    }

    /// Whether a workload on host `from` can connect to host `to` (``whyUnreachable(from:to:)``).
    public func reachable(from: Int, to: Int) -> Bool { whyUnreachable(from: from, to: to) == nil }
}
