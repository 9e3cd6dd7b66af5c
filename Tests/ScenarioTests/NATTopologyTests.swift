import LinuxTCP
import Testing

@testable import Scenario

/// ``NATTopology``: who sits behind which gateway, the routes both engines build from it, which
/// workloads it allows, and the validator asking it about every pair of hosts.
@Suite struct NATTopologyTests {
    /// Two gateways with one inside host each, one with two, and an outside server:
    ///
    ///     0 s (outside)   1 ga [a1, a2]   2 a1   3 a2   4 gb [b1]   5 b1
    static let yaml = """
        twlab: 1
        name: two-gateways
        hosts:
          s: { address: 10.9.0.2, listen: [{ port: 80 }] }
          ga: { address: 10.9.0.1, nat: { inside: [a1, a2] } }
          a1: { address: 10.1.0.1, listen: [{ port: 80 }] }
          a2: { address: 10.1.0.2, listen: [{ port: 80 }] }
          gb: { address: 10.9.0.3, nat: { inside: [b1] } }
          b1: { address: 10.2.0.1, listen: [{ port: 80 }] }
        workloads:
          - { name: w, from: a1, to: s:80, kind: curl, count: 1 }
        """

    static func topology() throws -> NATTopology {
        NATTopology(try ScenarioLoader.parse(yaml, file: "t.yaml"))
    }

    static let names = ["s", "ga", "a1", "a2", "gb", "b1"]

    @Test func whoSitsBehindWhichGateway() throws {
        let t = try Self.topology()
        #expect(t.gateways == [1, 4])
        #expect((0..<6).map { t.gateway(of: $0) } == [nil, nil, 1, 1, nil, 4])
        #expect(t.index(of: "a2").flatMap(t.gateway(of:)).map { t.hosts[$0].name } == "ga")
        #expect(t.index(of: "nobody") == nil)
        #expect(t.inside(of: 1) == [2, 3])
        #expect(t.inside(of: 4) == [5])
        #expect(t.inside(of: 0) == [])
        #expect(t.index(of: "gb") == 4)
    }

    /// Every route, row `from`, column `to`: d direct, a/b via ga/gb, - none.
    @Test func routesBetweenEveryPair() throws {
        let t = try Self.topology()
        func cell(_ r: NATTopology.Route) -> Character {
            switch r {
            case .direct: "d"
            case .via(1): "a"
            case .via(4): "b"
            case .via: "?"
            case .unreachable: "-"
            }
        }
        let table = (0..<6).map { from in String((0..<6).map { cell(t.route(from: from, to: $0)) }) }
        #expect(
            table == [
                // s ga a1 a2 gb b1
                "dd--d-",  // s: outside hosts and gateways, no inside host
                "ddddd-",  // ga: its own inside hosts too
                "addda-",  // a1: its own network directly, the rest via ga, not gb's inside
                "addda-",  // a2
                "dd--dd",  // gb
                "bb--dd",  // b1
            ])
    }

    /// Which workloads may run: from an inside host to an outside one that is not a gateway,
    /// between outside hosts, and to the host itself.
    @Test func reachableWorkloads() throws {
        let t = try Self.topology()
        let allowed = (0..<6).flatMap { from in
            (0..<6).filter { t.reachable(from: from, to: $0) }.map { "\(Self.names[from])>\(Self.names[$0])" }
        }
        #expect(allowed == ["s>s", "a1>s", "a1>a1", "a2>s", "a2>a2", "b1>s", "b1>b1"])
        #expect(t.whyUnreachable(from: 2, to: 3)?.contains("both are behind gateway 'ga'") == true)
        #expect(t.whyUnreachable(from: 0, to: 5)?.contains("hosts outside it have no route there") == true)
        #expect(t.whyUnreachable(from: 5, to: 2)?.contains("behind another gateway") == true)
        #expect(t.whyUnreachable(from: 2, to: 4)?.contains("'gb' is a NAT gateway") == true)
        #expect(t.whyUnreachable(from: 1, to: 0) == t.whyNoClient(1))
        #expect(t.whyNoClient(1) == "'ga' is a NAT gateway; workloads run on the hosts behind it")
        #expect(t.whyNoClient(0) == nil)
    }

    /// The validator asks the topology: a workload between any two hosts loads exactly when
    /// the topology says it is reachable, and otherwise names both hosts.
    @Test func theValidatorAcceptsExactlyTheReachableWorkloads() throws {
        let t = try Self.topology()
        for from in 0..<6 {
            for to in 0..<6 {
                let yaml = Self.yaml.replacing(
                    "{ name: w, from: a1, to: s:80,",
                    with: "{ name: w, from: \(Self.names[from]), to: \(Self.names[to]):80,")
                let error = parseError(yaml)
                #expect(
                    (error == nil) == t.reachable(from: from, to: to),
                    "\(Self.names[from]) -> \(Self.names[to])")
                if let error, !t.isGateway(from) {
                    #expect(
                        error.contains("'\(Self.names[from])' cannot connect to '\(Self.names[to])'"),
                        "\(error)")
                }
            }
        }
    }

    @Test func mistakesInInsideLists() {
        func host(_ name: String, _ inside: [String]? = nil) -> HostSpec {
            HostSpec(
                name: name, addresses: [IPv4Address(10, 0, 0, 1)], sysctls: KernelProfile.newest.defaults,
                nat: inside.map { NATSpec(inside: $0) })
        }
        func problem(_ hosts: [HostSpec]) -> String? {
            NATTopology.problem(in: hosts).map { "\($0.gateway).\($0.item): \($0.message)" }
        }
        #expect(problem([host("c"), host("g", ["c"])]) == nil)
        #expect(problem([host("c"), host("g", ["c", "c"])]) == "1.1: 'c' is listed twice")
        #expect(problem([host("c"), host("g", ["x"])]) == "1.0: unknown host 'x' (hosts: c, g)")
        #expect(problem([host("c"), host("g", ["g"])]) == "1.0: a gateway cannot be inside itself")
        #expect(
            problem([host("c"), host("g", ["h"]), host("h", ["c"])]) == "1.0: 'h' is itself a NAT gateway")
        #expect(
            problem([host("c"), host("g", ["c"]), host("h", ["c"])])
                == "2.0: 'c' is already behind gateway 'g'")
    }
}
