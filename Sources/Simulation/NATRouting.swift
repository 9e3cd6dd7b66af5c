import LinuxTCP
import Scenario

/// The NAT gateways of a scenario and the routes between its hosts (``NATTopology``).
///
/// A segment from an inside host to an outside host goes to its gateway (one link delay), is
/// translated the moment the gateway sees it, and goes on (one more link delay); a segment from
/// outside to a gateway's address passes the gateway's conntrack the same way. A segment with
/// no route (to an inside address from outside) is dropped where it starts.
struct NATRouting {
    let topology: NATTopology
    /// Per host: its NAT model when it is a gateway.
    var gateways: [NATGateway?]

    init(_ scenario: Scenario) {
        topology = NATTopology(scenario)
        gateways = scenario.hosts.enumerated().map { k, h in
            h.nat.map { nat in
                NATGateway(
                    address: h.addresses[0], ports: nat.ports, sysctls: h.sysctls,
                    seed: mix64(scenario.seed ^ 0x4E41_5447_5720 &+ UInt64(k)))
            }
        }
    }

    /// Where a segment leaving host `from` for host `to` (its destination's owner) goes next.
    enum Hop {
        /// Straight to host `to`.
        case deliver
        /// To this gateway's NAT: outbound from one of its inside hosts, or inbound from outside.
        case gateway(Int, inbound: Bool)
        /// Nowhere: no route.
        case drop
    }

    func hop(from: Int, to: Int) -> Hop {
        switch topology.route(from: from, to: to) {
        case .via(let g): return .gateway(g, inbound: false)
        case .direct where gateways[to] != nil && topology.gateway(of: from) != to:
            return .gateway(to, inbound: true)
        case .direct: return .deliver
        case .unreachable: return .drop
        }
    }
}

extension Simulator {
    /// A segment reaches gateway `g`: conntrack and SNAT decide, then it goes on to the host
    /// owning its (possibly translated) destination, if the gateway has a route there.
    mutating func atGateway(_ g: Int, slot: UInt32, inbound: Bool, now: Nanos) {
        let seg = pool[Int(slot)]
        freeSlots.append(slot)
        io.now = now
        let verdict =
            inbound ? nat.gateways[g]!.inbound(seg, now: now) : nat.gateways[g]!.outbound(seg, now: now)
        guard case .forward(let out) = verdict, let dest = host(owning: out.dst), dest != g,
            nat.topology.route(from: g, to: dest) == .direct
        else { return }
        send(out, to: dest)
    }

    /// conntrack statistics of gateway `h` for the result's counters (`conntrack -S` names).
    func conntrackCounters(_ h: Int) -> [(name: String, value: Int)] {
        nat.gateways[h]?.stats.nonZero ?? []
    }
}
