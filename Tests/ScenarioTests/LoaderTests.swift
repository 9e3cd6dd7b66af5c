import LinuxTCP
import Results
import Testing

@testable import Scenario

@Suite struct LoaderTests {
    static let full = """
        twlab: 1
        name: full.test-1
        description: every key once
        kernel: 6.18
        seed: 18446744073709551615
        duration: 2m
        network: { delay: 0.1ms, loss: 0.25 }
        hosts:
          client:
            addresses: [10.0.0.1, 10.0.0.3]
            uptime: 3d
            sysctl:
              net.ipv4.tcp_tw_reuse: 1
              net.ipv4.ip_local_port_range: 1024 1034
          server:
            address: 10.0.0.2
            sysctl: { net.ipv4.tcp_max_tw_buckets: 5 }
            listen:
              - port: 80
                backlog: 128
                http: { status: 200, keepalive_timeout: 5s }
                accept: { delay: 250us }
              - port: 81
                http: none
                accept: { never: true }
              - port: 82
                accept: { rate: 120/m }
        workloads:
          - name: burst
            from: client
            to: server:80
            kind: curl
            count: 20
            interval: 1.5s
            http: 1.0
            header: { Connection: keep-alive, X-Test: 5 }
            close: linger0
            timeout: 10s
            startup: 0s
            reuse_connection: false
          - name: again
            after: burst
            from: client
            to: 10.0.0.2:81
            kind: connect
            count: 3
            concurrency: 2
            hold: 100ms
            bind: { address: 10.0.0.3, port: 0, no_port: true, reuseaddr: true }
            fill: true
            rounds: 4
            interval: 20ms
            timeout: 1s
          - name: open
            start: 30s
            from: client
            to: server:82
            kind: rate
            rate: 1.5/s
            duration: 10s
        observe:
          - at: end
          - at: 60.3s
          - after: burst
        sample_every: 1s
        expect:
          workloads.burst.outcomes.404: 20
          workloads.again.rounds.3: [1, 2]
          counters.server.TcpExtTCPTimeWaitOverflow: {min: 14, max: 21}
          workloads.again.local_ports: {equals: [1024, 1026]}
          snapshots.60300ms.hosts.server.listeners.80.recv_q: 0
          snapshots.end.hosts.client.states.TIME-WAIT: [10, 11]

        """

    @Test func fullScenario() throws {
        let s = try ScenarioLoader.parse(Self.full, file: "full.yaml")
        #expect(s.name == "full.test-1")
        #expect(s.description == "every key once")
        #expect(s.kernel.name == "6.18")
        #expect(s.seed == UInt64.max)
        #expect(s.duration == 120_000_000_000)
        #expect(s.network == NetworkSpec(delay: 100_000, loss: 0.25))
        #expect(s.source == "full.yaml")
        #expect(s.sampleEvery == 1_000_000_000)
        #expect(s.observe == [.end, .at(60_300_000_000), .after("burst")])

        #expect(s.hosts.map(\.name) == ["client", "server"])
        let client = s.hosts[0]
        #expect(client.addresses == [IPv4Address(10, 0, 0, 1), IPv4Address(10, 0, 0, 3)])
        #expect(client.uptime == 259_200_000_000_000)
        #expect(client.sysctls.tcpTwReuse == 1)
        #expect(client.sysctls.portRangeLow == 1024 && client.sysctls.portRangeHigh == 1034)
        #expect(client.sysctls.tcpMaxTwBuckets == KernelProfile.linux6_18.defaults.tcpMaxTwBuckets)
        #expect(
            client.sysctlOverrides.map(\.name) == ["net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range"])
        #expect(client.sysctlOverrides.map(\.value) == ["1", "1024 1034"])
        #expect(client.listeners.isEmpty)

        let server = s.hosts[1]
        #expect(server.addresses == [IPv4Address(10, 0, 0, 2)])
        #expect(server.uptime == 86_400_000_000_000)
        #expect(server.sysctls.tcpMaxTwBuckets == 5)
        #expect(server.sysctls.tcpTwReuse == 2)
        #expect(
            server.listeners == [
                ListenerSpec(
                    port: 80, backlog: 128,
                    http: HTTPServerSpec(status: 200, keepaliveTimeout: 5_000_000_000),
                    accept: .immediate(delay: 250_000)),
                ListenerSpec(port: 81, backlog: 511, http: nil, accept: .never),
                ListenerSpec(port: 82, backlog: 511, http: HTTPServerSpec(), accept: .rate(perSecond: 2)),
            ])

        #expect(s.workloads.map(\.name) == ["burst", "again", "open"])
        let burst = s.workloads[0]
        #expect(burst.from == "client")
        #expect(burst.to == Endpoint(host: "server", address: IPv4Address(10, 0, 0, 2), port: 80))
        #expect(burst.start == .at(0))
        guard case .curl(let curl) = burst.kind else { Issue.record("burst is not curl"); return }
        #expect(
            curl
                == CurlSpec(
                    count: 20, interval: 1_500_000_000,
                    request: HTTPRequestSpec(
                        version: .v1_0,
                        headers: [
                            HTTPHeader(name: "Connection", value: "keep-alive"),
                            HTTPHeader(name: "X-Test", value: "5"),
                        ]),
                    close: .linger0, timeout: 10_000_000_000, startup: 0, reuseConnection: false))

        let again = s.workloads[1]
        #expect(again.start == .after("burst"))
        #expect(again.to == Endpoint(host: nil, address: IPv4Address(10, 0, 0, 2), port: 81))
        guard case .connect(let connect) = again.kind else { Issue.record("again is not connect"); return }
        #expect(
            connect
                == ConnectSpec(
                    count: 3, concurrency: 2, hold: 100_000_000, close: .fin,
                    bind: BindSpec(
                        address: IPv4Address(10, 0, 0, 3), port: 0, noPort: true, reuseAddress: true),
                    fill: true, rounds: 4, interval: 20_000_000, timeout: 1_000_000_000))

        let open = s.workloads[2]
        #expect(open.start == .at(30_000_000_000))
        guard case .rate(let rate) = open.kind else { Issue.record("open is not rate"); return }
        #expect(rate == RateSpec(perSecond: 1.5, duration: 10_000_000_000))

        #expect(
            s.expect == [
                Expectation(path: "workloads.burst.outcomes.404", matcher: .oneOf([20]), line: 67, column: 3),
                Expectation(path: "workloads.again.rounds.3", matcher: .oneOf([1, 2]), line: 68, column: 3),
                Expectation(
                    path: "counters.server.TcpExtTCPTimeWaitOverflow", matcher: .range(min: 14, max: 21),
                    line: 69,
                    column: 3),
                Expectation(
                    path: "workloads.again.local_ports", matcher: .equals([1024, 1026]), line: 70, column: 3),
                Expectation(
                    path: "snapshots.60.3s.hosts.server.listeners.80.recv_q", matcher: .oneOf([0]), line: 71,
                    column: 3),
                Expectation(
                    path: "snapshots.end.hosts.client.states.TIME-WAIT", matcher: .oneOf([10, 11]), line: 72,
                    column: 3),
            ])
    }

    @Test func defaults() throws {
        let s = try ScenarioLoader.parse(baseYAML, file: "t.yaml")
        #expect(s.kernel.name == KernelProfile.newest.name)
        #expect(s.seed == 1)
        #expect(s.duration == nil)
        #expect(s.network == NetworkSpec(delay: 100_000, loss: 0))
        #expect(s.observe == [.end])
        #expect(s.sampleEvery == nil)
        #expect(s.expect.isEmpty)
        #expect(s.description == "")
        #expect(s.hosts[1].listeners == [ListenerSpec(port: 80)])
        #expect(s.hosts[1].sysctlOverrides.isEmpty)
        guard case .curl(let c) = s.workloads[0].kind else { Issue.record("not curl"); return }
        #expect(c == CurlSpec(count: 20))
        #expect(c.startup == CurlSpec.defaultStartup)
    }

    @Test func kernelAndHTTPVersionsReadAsWritten() throws {
        // Unquoted 6.18 and 1.1 are YAML floats; the scalar text is what counts.
        let s = try ScenarioLoader.parse(
            base(line: 17, "    count: 20\n    http: 1.1\nkernel: 6.18"), file: "t.yaml")
        #expect(s.kernel.name == "6.18")
        guard case .curl(let c) = s.workloads[0].kind else { Issue.record("not curl"); return }
        #expect(c.request.version == .v1_1)
    }

    @Test func afterMayPointForward() throws {
        let yaml = base(
            line: 13,
            "  - name: second\n    after: burst\n    from: client\n    to: server:80\n    kind: curl\n    count: 1\n  - name: burst"
        )
        let s = try ScenarioLoader.parse(yaml, file: "t.yaml")
        #expect(s.workloads.map(\.start) == [.after("burst"), .at(0)])
    }

    @Test func nullsMeanEmpty() throws {
        // `http: null` is a bare listener; an empty sysctl map changes nothing.
        let s = try ScenarioLoader.parse(
            base(line: 11, "      - port: 80\n        http: null").replacingLine(7, with: ""), file: "t.yaml")
        #expect(s.hosts[1].listeners[0].http == nil)
        #expect(s.hosts[0].sysctlOverrides.isEmpty)
        #expect(s.hosts[0].sysctls == KernelProfile.newest.defaults)
    }

    @Test func loadByNameAndPath() throws {
        let s = try ScenarioLoader.load("seed000-b-http11-reuse1-burst")
        #expect(s.source == "catalogue:seed000-b-http11-reuse1-burst")
        #expect(
            throws: ScenarioError(
                file: "no-such-scenario",
                message:
                    "no built-in scenario has this name (`twlab scenarios` lists them, or give a path to a .yaml file)"
            )
        ) {
            try ScenarioLoader.load("no-such-scenario")
        }
        #expect(
            throws: ScenarioError(
                file: "seed000",
                message:
                    "no built-in scenario has this name (did you mean seed000-a-http11-reuse1-sleep1, seed000-b-http11-reuse1-burst, seed000-c-http11-reuse0-sleep1, seed000-d-http11-reuse0-burst-twice, seed000-e-http10-server-closes?)"
            )
        ) {
            try ScenarioLoader.load("seed000")
        }
        #expect(throws: ScenarioError(file: "/nonexistent/x.yaml", message: "no such file")) {
            try ScenarioLoader.load("/nonexistent/x.yaml")
        }
        #expect(
            throws: ScenarioError(
                file: packageRoot + "/scenarios", message: "is a directory, not a scenario file")
        ) {
            try ScenarioLoader.load(packageRoot + "/scenarios")
        }
        let path = packageRoot + "/scenarios/seed000-a-http11-reuse1-sleep1.yaml"
        let f = try ScenarioLoader.load(path, overrides: ["workloads.loop.count=3"])
        #expect(f.source == path)
        guard case .curl(let c) = f.workloads[0].kind else { Issue.record("not curl"); return }
        #expect(c.count == 3)
    }
}

extension String {
    /// This text with line `n` (1-based) replaced.
    func replacingLine(_ n: Int, with text: String) -> String {
        var lines = split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[n - 1] = text
        return lines.joined(separator: "\n")
    }
}
