import Glibc
import LinuxTCP
import Scenario

/// Which bridge each host is plugged into and which routes it gets: ``NATTopology`` built with
/// interfaces.
///
/// Without gateways every host sits on the outside bridge `br0` with on-link /32 routes to every
/// other address. A NAT gateway `g` (scenario `nat:`) is built like seed-lab.sh's `topo_nat`:
/// its inside hosts sit on a bridge of their own (`gi<k>`, k the gateway's host index), the
/// gateway has `eth0` on `br0` and `eth1` on that inside bridge, and it forwards and
/// masquerades between the two (``Lab/setUpGateway(_:index:topology:)``). Each host gets a
/// route to every address ``NATTopology/route(from:to:)`` says it reaches: on-link when direct,
/// `via` the gateway otherwise; none where it says there is none.
struct LabTopology {
    let scenario: Scenario
    let nat: NATTopology

    init(_ scenario: Scenario) {
        self.scenario = scenario
        nat = NATTopology(scenario)
    }

    /// The gateways, in host order, with their host index.
    var gateways: [(index: Int, host: HostSpec)] { nat.gateways.map { ($0, scenario.hosts[$0]) } }

    /// The bridge (in the switch namespace) behind gateway `k`.
    static func insideBridge(_ k: Int) -> String { "gi\(k)" }

    /// Where `host`'s eth0 is plugged in.
    func bridge(of host: String) -> String {
        guard let k = nat.index(of: host), let g = nat.gateway(of: k) else { return "br0" }
        return Self.insideBridge(g)
    }

    /// `ip route add` arguments for `h`'s eth0, one route per other address it may reach: the
    /// on-link ones first, as the `via` ones need their gateway on-link. A gateway's routes to
    /// its inside hosts are on eth1 (``Lab/setUpGateway(_:index:topology:)``).
    func routes(for h: HostSpec) -> [[String]] {
        guard let k = nat.index(of: h.name) else { return [] }
        var onLink: [[String]] = []
        var via: [[String]] = []
        for (j, other) in scenario.hosts.enumerated() where j != k && nat.gateway(of: j) != k {
            switch nat.route(from: k, to: j) {
            case .direct where nat.gateway(of: k) == j:
                // Its gateway's eth1 holds the first address only: the next hop for the rest.
                let next = other.addresses[0]
                onLink.append(["\(next)/32", "dev", "eth0"])
                via += other.addresses.dropFirst().map { ["\($0)/32", "via", "\(next)", "dev", "eth0"] }
            case .direct:
                onLink += other.addresses.map { ["\($0)/32", "dev", "eth0"] }
            case .via(let g):
                let next = scenario.hosts[g].addresses[0]
                via += other.addresses.map { ["\($0)/32", "via", "\(next)", "dev", "eth0"] }
            case .unreachable:
                break
            }
        }
        return onLink + via
    }

    /// The gateway's nftables ruleset (one transaction), as `topo_nat` loads it: masquerade TCP
    /// from the inside hosts leaving by the outside interface, from `ports` when given.
    static func ruleset(_ nat: NATSpec, insideAddresses: [IPv4Address]) -> String {
        var to = ""
        if let p = nat.ports {
            to = p.count == 1 ? " to :\(p.lowerBound)" : " to :\(p.lowerBound)-\(p.upperBound)"
        }
        let sources = insideAddresses.map { "\($0)" }.joined(separator: ", ")
        return """
            table ip twlab {
              chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                oifname "eth0" ip saddr { \(sources) } ip protocol tcp masquerade\(to)
              }
            }
            """
    }

    /// The inside hosts' addresses of gateway `g`.
    func insideAddresses(of g: HostSpec) -> [IPv4Address] {
        guard let k = nat.index(of: g.name) else { return [] }
        return nat.inside(of: k).flatMap { scenario.hosts[$0].addresses }
    }
}

extension Lab {
    /// What a scenario needs besides ``preflight()``, checked before anything is created, one
    /// line if it cannot be had: nothing ``KernelEngine/unsupported(_:)`` refuses, and nft for
    /// NAT gateways and for synflood workloads (``dropInboundSynAcks(on:)``).
    public static func preflight(_ scenario: Scenario) throws(LabError) {
        if let why = KernelEngine.unsupported(scenario) { throw LabError("\(scenario.source): \(why)") }
        try preflight()
        var needsNft: String?
        if let g = scenario.hosts.first(where: { $0.nat != nil }) {
            needsNft = "host '\(g.name)' is a NAT gateway, which the kernel engine builds with nft"
        } else if let w = scenario.workloads.first(where: {
            if case .synflood = $0.kind { true } else { false }
        }) {
            needsNft =
                "workload '\(w.name)' is a synflood, whose host the kernel engine keeps from answering SYN-ACKs with nft"
        }
        if let needsNft, (try? run(["nft", "--version"]))?.status != 0 {
            throw LabError("\(scenario.source): \(needsNft) (apt-get install nftables)")
        }
    }

    /// Makes gateway `g` (host index `k`, its namespace and eth0 already made) a Linux NAT
    /// gateway: a second interface on its inside bridge, IP forwarding, the masquerade rule,
    /// then its conntrack sysctls. Everything is written inside the gateway's namespace.
    func setUpGateway(_ g: HostSpec, index k: Int, topology: LabTopology) throws(LabError) {
        guard let nat = g.nat else { return }
        let ns = namespace(g.name)
        let port = "q\(k)"
        try must([
            "ip", "-n", switchNamespace, "link", "add", port, "type", "veth", "peer", "name", "eth1", "netns",
            ns,
        ])
        try must([
            "ip", "-n", switchNamespace, "link", "set", port, "master", LabTopology.insideBridge(k), "up",
        ])
        // The gateway's own address on eth1 too: the inside hosts' next hop, answered by ARP
        // there; masquerade still takes eth0's address, the scenario's first.
        try must(["ip", "-n", ns, "addr", "add", "\(g.addresses[0])/32", "dev", "eth1"])
        try must(["ip", "-n", ns, "link", "set", "eth1", "up"])
        let inside = topology.insideAddresses(of: g)
        for a in inside { try must(["ip", "-n", ns, "route", "add", "\(a)/32", "dev", "eth1"]) }
        try sysctl(ns, "net.ipv4.ip_forward", "1")
        try must(["ip", "netns", "exec", ns, "nft", LabTopology.ruleset(nat, insideAddresses: inside)])
        for (name, value) in g.sysctlOverrides where SysctlRegistry.needsConntrack(name) {
            try sysctl(ns, name, value)
        }
    }

    func sysctl(_ ns: String, _ name: String, _ value: String) throws(LabError) {
        try must(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "\(name)=\(value)"])
    }
}
