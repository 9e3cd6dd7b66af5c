import LinuxTCP
import Testing

@testable import Scenario

@Suite struct OverrideTests {
    @Test func setsValuesBeforeValidation() throws {
        let s = try ScenarioLoader.parse(
            baseYAML, file: "t.yaml",
            overrides: [
                "hosts.client.sysctl.net.ipv4.tcp_tw_reuse=0",  // replaces a value in the file
                "hosts.client.sysctl.net.ipv4.ip_local_port_range=1024 1034",  // adds a sysctl
                "hosts.server.sysctl.net.ipv4.tcp_max_tw_buckets=5",  // creates the sysctl map
                "workloads.burst.count=5",  // a list item by name
                "workloads.burst.http=1.0",  // added key, YAML float text kept
                "duration=30s",  // a new top-level key
            ])
        let client = try #require(s.host(named: "client"))
        #expect(client.sysctls.tcpTwReuse == 0)
        #expect(client.sysctls.portRangeLow == 1024 && client.sysctls.portRangeHigh == 1034)
        #expect(
            client.sysctlOverrides.map(\.name) == ["net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range"])
        #expect(client.sysctlOverrides.map(\.value) == ["0", "1024 1034"])
        #expect(s.host(named: "server")?.sysctls.tcpMaxTwBuckets == 5)
        #expect(s.duration == 30_000_000_000)
        guard case .curl(let c) = s.workloads[0].kind else { Issue.record("not curl"); return }
        #expect(c.count == 5)
        #expect(c.request.version == .v1_0)
    }

    @Test func listIndexAndFlowValues() throws {
        let yaml = base(line: 18, "observe:\n  - at: end\n  - at: 1s")
        let s = try ScenarioLoader.parse(
            yaml, file: "t.yaml", overrides: ["observe.1.at=65s"])
        #expect(s.observe == [.end, .at(65_000_000_000)])
        let flow = try ScenarioLoader.parse(
            baseYAML, file: "t.yaml",
            overrides: ["observe=[{at: end}, {after: burst}]", "hosts.server.listen=[{port: 81}]"])
        #expect(flow.observe == [.end, .after("burst")])
        #expect(flow.host(named: "server")?.listeners == [ListenerSpec(port: 81)])
    }

    @Test func laterOverridesWin() throws {
        let s = try ScenarioLoader.parse(baseYAML, file: "t.yaml", overrides: ["seed=5", "seed=7"])
        #expect(s.seed == 7)
    }

    @Test(arguments: [
        ("nokey", "--set: 'nokey' is not KEY=VALUE (e.g. hosts.client.sysctl.net.ipv4.tcp_tw_reuse=1)"),
        ("=5", "--set: '=5': '' is not a dotted path like workloads.burst.count"),
        (
            "hosts..client=1",
            "--set: 'hosts..client=1': 'hosts..client' is not a dotted path like workloads.burst.count"
        ),
        (
            "hosts.clint.sysctl.net.ipv4.tcp_tw_reuse=1",
            "--set: 'hosts.clint.sysctl.net.ipv4.tcp_tw_reuse=1': 'hosts' has no key 'clint', so 'hosts.clint' cannot be set"
        ),
        (
            "workloads.brst.count=1",
            "--set: 'workloads.brst.count=1': 'workloads' has no item named 'brst' (nor an index 0..<1)"
        ),
        ("name.x=1", "--set: 'name.x=1': 'name' is a single value, not a map, so it has no 'x'"),
        (
            "network.delay=1ms",
            "--set: 'network.delay=1ms': the top level has no key 'network', so 'network' cannot be set"
        ),
        ("name=[", "--set: 'name=[': the value is not valid YAML: did not find expected node content"),
        // Validation still applies, reported against the argument.
        (
            "hosts.client.sysctl.net.ipv4.tcp_tw_reuse=3",
            "--set: 'hosts.client.sysctl.net.ipv4.tcp_tw_reuse=3': net.ipv4.tcp_tw_reuse: 3 is outside 0...2"
        ),
        (
            "hosts.client.sysctl.net.ipv4.tcp_tw_recycle=1",
            "--set: 'hosts.client.sysctl.net.ipv4.tcp_tw_recycle=1': host 'client': net.ipv4.tcp_tw_recycle does not exist on kernel 6.18: it was removed in 4.12"
        ),
        (
            "workloads.burst.cout=5",
            "--set: 'workloads.burst.cout=5': unknown key 'cout' in workload 'burst' (expected one of: name, from, to, kind, start, after, count, interval, http, header, close, timeout, startup, reuse_connection)"
        ),
        (
            "workloads.burst.count=none",
            "--set: 'workloads.burst.count=none': workload 'burst': count: expected an integer >= 1, got 'none'"
        ),
        ("twlab=2", "--set: 'twlab=2': twlab: this version of twlab reads schema version 1, not 2"),
    ])
    func rejects(_ arg: String, _ message: String) {
        #expect(parseError(baseYAML, overrides: [arg]) == message)
    }
}
