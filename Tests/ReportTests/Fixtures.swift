import Results
import Scenario

/// A hand-built result and scenario that touch every section of the report: a curl burst that
/// runs out of ports, a `connect` fill with rounds, two snapshots (one after a workload, with a
/// full accept queue) and counters on two hosts.
enum Fixtures {
    static var scenario: Scenario {
        var s = Scenario(
            name: "seed000-b-http11-reuse1-burst",
            description: "curl loop, 11 client ports, tcp_tw_reuse=1, no sleep between requests",
            seed: 1, hosts: [], workloads: [], observe: [.after("burst"), .end])
        let defaults = s.kernel.defaults
        s.hosts = [
            HostSpec(
                name: "client", addresses: [.init(10, 77, 0, 11)], sysctls: defaults,
                sysctlOverrides: [
                    (name: "net.ipv4.ip_local_port_range", value: "1024 1034"),
                    (name: "net.ipv4.tcp_tw_reuse", value: "1"),
                ]),
            HostSpec(
                name: "server", addresses: [.init(10, 77, 0, 2)], sysctls: defaults,
                sysctlOverrides: [(name: "net.core.somaxconn", value: "10")]),
        ]
        s.workloads = [
            WorkloadSpec(
                name: "burst", from: "client",
                to: Endpoint(host: "server", address: .init(10, 77, 0, 2), port: 80),
                kind: .curl(CurlSpec(count: 20))),
            WorkloadSpec(
                name: "fill", from: "client",
                to: Endpoint(host: "server", address: .init(10, 77, 0, 2), port: 8080),
                start: .after("burst"), kind: .connect(ConnectSpec(count: 20, fill: true, rounds: 40))),
        ]
        s.expect = [
            Expectation(path: "workloads.burst.outcomes.404", matcher: .oneOf([11])),
            Expectation(path: "workloads.burst.outcomes.EADDRNOTAVAIL", matcher: .oneOf([9])),
            Expectation(path: "workloads.burst.local_ports.count", matcher: .range(min: 10, max: 11)),
            Expectation(path: "snapshots.end.hosts.client.states.TIME-WAIT", matcher: .oneOf([10, 11])),
            Expectation(path: "counters.client.TcpExtTWRecycled", matcher: .oneOf([0])),
        ]
        return s
    }

    static var result: RunResult {
        RunResult(
            scenario: "seed000-b-http11-reuse1-burst", engine: "simulator", kernel: "6.18",
            workloads: [
                WorkloadResult(
                    name: "burst", attempts: 20, outcomes: [Outcome("404", 11), Outcome("EADDRNOTAVAIL", 9)],
                    latency: Latency(p50: 0.4123, p99: 1.1), localPorts: Array(1024...1034)),
                WorkloadResult(
                    name: "fill", attempts: 480,
                    outcomes: [
                        Outcome("connected", 438), Outcome("EADDRNOTAVAIL", 40), Outcome("ETIMEDOUT", 2),
                    ],
                    latency: Latency(p50: 0.21, p99: 12.5), localPorts: [1024, 1026, 1028, 1030, 1032],
                    rounds: [Outcome("10", 2), Outcome("11", 38)]),
            ],
            snapshots: [
                Snapshot(
                    at: "burst", time: 0.2129,
                    hosts: [
                        HostSnapshot(host: "client", states: [Outcome("TIME-WAIT", 11)], listeners: []),
                        HostSnapshot(
                            host: "server", states: [Outcome("LISTEN", 2)],
                            listeners: [
                                ListenerSnapshot(port: 8080, recvQ: 0, sendQ: 10),
                                ListenerSnapshot(port: 80, recvQ: 0, sendQ: 10),
                            ]),
                    ]),
                Snapshot(
                    at: "end", time: 64.5,
                    hosts: [
                        HostSnapshot(
                            host: "client",
                            states: [Outcome("TIME-WAIT", 11), Outcome("ESTAB", 11), Outcome("SYN-SENT", 2)],
                            listeners: []),
                        HostSnapshot(
                            host: "server",
                            states: [Outcome("LISTEN", 2), Outcome("SYN-RECV", 0), Outcome("ESTAB", 11)],
                            listeners: [
                                ListenerSnapshot(port: 80, recvQ: 0, sendQ: 10),
                                ListenerSnapshot(port: 8080, recvQ: 11, sendQ: 10),
                            ]),
                    ]),
            ],
            counters: [
                HostCounters(
                    host: "client",
                    values: [
                        Outcome("TcpActiveOpens", 449), Outcome("TcpExtTW", 11),
                        Outcome("TcpExtTWRecycled", 0),
                    ]),
                HostCounters(
                    host: "server",
                    values: [
                        Outcome("TcpExtListenDrops", 1234), Outcome("TcpExtListenOverflows", 1234),
                        Outcome("TcpPassiveOpens", 460),
                    ]),
                HostCounters(host: "gw", values: []),
            ])
    }
}
