import Glibc
import LinuxTCP
import Scenario

/// Which bridge each host is plugged into and which routes it gets, NAT gateways included.
///
/// Without gateways every host sits on the outside bridge `br0` with on-link /32 routes to every
/// other address. A NAT gateway `g` (scenario `nat:`) is built like seed-lab.sh's `topo_nat`:
/// its inside hosts sit on a bridge of their own (`gi<k>`, k the gateway's host index), the
/// gateway has `eth0` on `br0` and `eth1` on that inside bridge, and it forwards and
/// masquerades between the two (``Lab/setUpGateway(_:index:topology:)``). An inside host reaches
/// every outside address only `via` the gateway; outside hosts get no route to inside addresses,
/// so only conntrack's replies reach them.
struct LabTopology {
    /// Inside host name -> its gateway.
    private var gatewayOf: [String: HostSpec] = [:]
    /// Host name -> its index in the scenario (names its switch ports and a gateway's bridge).
    private var index: [String: Int] = [:]
    let scenario: Scenario

    init(_ scenario: Scenario) {
        self.scenario = scenario
        for (k, h) in scenario.hosts.enumerated() {
            index[h.name] = k
            for name in h.nat?.inside ?? [] { gatewayOf[name] = h }
        }
    }

    /// The gateways, in host order, with their host index.
    var gateways: [(index: Int, host: HostSpec)] {
        scenario.hosts.enumerated().filter { $0.element.nat != nil }.map { ($0.offset, $0.element) }
    }

    /// The bridge (in the switch namespace) behind gateway `k`.
    static func insideBridge(_ k: Int) -> String { "gi\(k)" }

    /// Where `host`'s eth0 is plugged in.
    func bridge(of host: String) -> String {
        guard let g = gatewayOf[host], let k = index[g.name] else { return "br0" }
        return Self.insideBridge(k)
    }

    /// Addresses on the outside bridge: every host's that is not behind a gateway.
    var outsideAddresses: [IPv4Address] {
        scenario.hosts.filter { gatewayOf[$0.name] == nil }.flatMap(\.addresses)
    }

    /// `ip route add` arguments for `h`'s eth0, one route per other address it may reach.
    func routes(for h: HostSpec) -> [[String]] {
        guard let g = gatewayOf[h.name] else {
            return outsideAddresses.filter { !h.addresses.contains($0) }.map { ["\($0)/32", "dev", "eth0"] }
        }
        // Behind `g`: its siblings and the gateway are on-link (the gateway's first address is
        // on its eth1 too); everything outside is via the gateway.
        let siblings = scenario.hosts.filter { gatewayOf[$0.name]?.name == g.name && $0.name != h.name }
        let gatewayAddress = g.addresses[0]
        var out = (siblings.flatMap(\.addresses) + [gatewayAddress]).map { ["\($0)/32", "dev", "eth0"] }
        for a in outsideAddresses where a != gatewayAddress {
            out.append(["\(a)/32", "via", "\(gatewayAddress)", "dev", "eth0"])
        }
        return out
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
        scenario.hosts.filter { gatewayOf[$0.name]?.name == g.name }.flatMap(\.addresses)
    }

    /// Sysctls of `h` that can only be written once its ruleset is loaded: conntrack's
    /// (`net.netfilter.*`) exist in a namespace only after something there uses conntrack.
    static func isConntrackSysctl(_ name: String) -> Bool { name.hasPrefix("net.netfilter.") }
}

extension Lab {
    /// What a scenario needs besides ``preflight()``, one line if it cannot be had: nft for NAT
    /// gateways; this machine's kernel, which the newest profile models (an older profile's
    /// scenario is the simulator's); one clock for every host (namespaces share the machine's
    /// uptime, so the TS clock bases `uptime:` sets cannot differ, TS-3).
    public static func preflight(_ scenario: Scenario) throws(LabError) {
        if scenario.kernel.name != KernelProfile.newest.name {
            throw LabError(
                "\(scenario.source): the scenario simulates kernel \(scenario.kernel.name); the kernel engine runs this machine's kernel (profile \(KernelProfile.newest.name)), so run it on the simulator"
            )
        }
        if let a = scenario.hosts.first, let b = scenario.hosts.first(where: { $0.uptime != a.uptime }) {
            throw LabError(
                "\(scenario.source): hosts '\(a.name)' and '\(b.name)' have different uptimes, but the kernel engine's namespaces share this machine's clock; run it on the simulator"
            )
        }
        try preflight()
        if let g = scenario.hosts.first(where: { $0.nat != nil }),
            (try? run(["nft", "--version"]))?.status != 0
        {
            throw LabError(
                "\(scenario.source): host '\(g.name)' is a NAT gateway, which the kernel engine builds with nft (apt-get install nftables)"
            )
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
        for (name, value) in g.sysctlOverrides where LabTopology.isConntrackSysctl(name) {
            try sysctl(ns, name, value)
        }
    }

    func sysctl(_ ns: String, _ name: String, _ value: String) throws(LabError) {
        try must(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "\(name)=\(value)"])
    }
}
