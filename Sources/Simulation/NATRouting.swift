import LinuxTCP
import Scenario

/// The NAT gateways of a scenario and who sits behind which (design.md `nat:`).
///
/// Routing: a segment from an inside host to any other host goes to its gateway (one link
/// delay), is translated the moment the gateway sees it, and goes on (one more link delay).
/// Outside hosts reach inside hosts only through the gateway's address; there is no route to an
/// inside address from outside.
struct NATRouting {
    /// Per host: its NAT model when it is a gateway.
    var gateways: [NATGateway?]
    /// Per host: the index of the gateway it sits behind.
    var gatewayOf: [Int?]

    init(_ scenario: Scenario) {
        let hosts = scenario.hosts
        gateways = hosts.enumerated().map { k, h in
            h.nat.map { nat in
                NATGateway(
                    address: h.addresses[0], ports: nat.ports, sysctls: h.sysctls,
                    seed: mix64(scenario.seed ^ 0x4E41_5447_5720 &+ UInt64(k)))
            }
        }
        gatewayOf = hosts.map { h in scenario.hosts.firstIndex { $0.nat?.inside.contains(h.name) == true } }
    }

    /// Where a segment leaving host `from` for host `to` (its destination's owner) must go
    /// first: the gateway in between and the direction, nil when it goes straight there.
    func hop(from: Int, to: Int) -> (gateway: Int, inbound: Bool)? {
        if let g = gatewayOf[from], to != from { return (g, false) }
        if gateways[to] != nil, gatewayOf[from] != to { return (to, true) }
        return nil
    }

    /// Whether `to` cannot be reached from `from` directly (an inside address from outside).
    func unreachable(from: Int, to: Int) -> Bool { gatewayOf[to] != nil && to != from }
}

extension Simulator {
    /// A segment reaches gateway `g`: conntrack and SNAT decide, then it goes on to the host
    /// owning its (possibly translated) destination.
    mutating func atGateway(_ g: Int, slot: UInt32, inbound: Bool, now: Nanos) {
        let seg = pool[Int(slot)]
        freeSlots.append(slot)
        io.now = now
        let verdict =
            inbound ? nat.gateways[g]!.inbound(seg, now: now) : nat.gateways[g]!.outbound(seg, now: now)
        guard case .forward(let out) = verdict, let dest = host(owning: out.dst), dest != g else { return }
        if inbound ? nat.gatewayOf[dest] != g : nat.gatewayOf[dest] != nil { return }  // no route
        send(out, to: dest)
    }

    /// conntrack statistics of gateway `h` for the result's counters (`conntrack -S` names).
    func conntrackCounters(_ h: Int) -> [(name: String, value: Int)] {
        nat.gateways[h]?.stats.nonZero ?? []
    }
}
