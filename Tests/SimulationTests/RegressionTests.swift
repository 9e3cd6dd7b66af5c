import Results
import Scenario
import Simulation
import Testing

/// Defects found by review, each reproduced by a scenario, now pinned to the right outcome.
@Suite struct RegressionTests {
    func run(_ yaml: String) throws -> RunResult {
        try SimulatorEngine().run(try ScenarioLoader.parse(yaml, file: "t.yaml"))
    }

    /// TWR-2 explicit path: taking over a TIME_WAIT with bind()+connect() must not leave the
    /// TW's share of the port behind; once the TIME_WAITs are gone both ports work again.
    @Test func explicitBindTakeoverReleasesThePort() throws {
        let r = try run(
            """
            twlab: 1
            name: t
            hosts:
              client: { address: 10.0.0.1, sysctl: { net.ipv4.ip_local_port_range: "1024 1025" } }
              server: { address: 10.0.0.2, listen: [ { port: 80, http: none } ] }
            workloads:
              - { name: a, from: client, to: server:80, kind: connect, count: 1, rounds: 2, interval: 1s,
                  bind: { port: 1024, reuseaddr: true } }
              - { name: b, start: 70s, from: client, to: server:80, kind: connect, count: 2, concurrency: 2, hold: 1s }
            """)
        #expect(r.counters(of: "client")?.value("TcpExtTWRecycled") == 1)
        #expect(r.workload("b")?.outcomes == [Outcome("connected", 2)])
    }

    /// A child reset while it waits in the accept queue must not hand its slot to a later socket.
    @Test func resetQueuedChildDoesNotCaptureALaterConnection() throws {
        let r = try run(
            """
            twlab: 1
            name: t
            hosts:
              h: { address: 10.0.0.1, listen: [ { port: 80, accept: { delay: 150ms } } ] }
            workloads:
              - { name: rst, from: h, to: "127.0.0.1:80", kind: connect, count: 1, hold: 100ms, close: linger0 }
              - { name: get, after: rst, from: h, to: "127.0.0.1:80", kind: curl, count: 1, timeout: 2s }
            """)
        #expect(r.workload("get")?.outcomes == [Outcome("404", 1)])
    }

    /// A rate workload's per-attempt timeout applies to the attempt it was armed for only.
    @Test func rateTimeoutsDoNotHitLaterAttemptsInTheSameSlot() throws {
        let r = try run(
            """
            twlab: 1
            name: t
            hosts:
              client: { address: 10.0.0.1 }
              server: { address: 10.0.0.2, listen: [ { port: 80, accept: { delay: 50ms } } ] }
            workloads:
              - { name: r, from: client, to: server:80, kind: rate, rate: 100/s, duration: 1s, timeout: 80ms }
            """)
        #expect(r.workload("r")?.outcomes == [Outcome("404", 100)])
    }

    /// Held connections already counted as connected are not also pending when the run stops.
    @Test func heldConnectionsAreNotPending() throws {
        let r = try run(
            """
            twlab: 1
            name: t
            duration: 10s
            hosts:
              c: { address: 10.0.0.1 }
              s: { address: 10.0.0.2, listen: [ { port: 80, http: none } ] }
            workloads:
              - { name: w, from: c, to: s:80, kind: connect, count: 5, concurrency: 5, hold: 100s }
            """)
        #expect(r.workload("w")?.outcomes == [Outcome("connected", 5)])
    }

    /// Thousands of connects failing in a row (an exhausted range) must not recurse.
    @Test func manyImmediateFailuresInARow() throws {
        let r = try run(
            """
            twlab: 1
            name: t
            hosts:
              client: { address: 10.0.0.1, sysctl: { net.ipv4.ip_local_port_range: "1024 1024" } }
              server: { address: 10.0.0.2, listen: [ { port: 80, http: none } ] }
            workloads:
              - { name: c, from: client, to: server:80, kind: connect, count: 20000, concurrency: 2, hold: 10s }
            """)
        #expect(r.workload("c")?.outcomes == [Outcome("EADDRNOTAVAIL", 19999), Outcome("connected", 1)])
    }

    /// Sampling does not keep a run alive once nothing else can happen.
    @Test func samplingStopsWhenOnlyThePendingAreLeft() throws {
        let r = try run(
            """
            twlab: 1
            name: t
            hosts:
              client: { address: 10.0.0.1 }
              server: { address: 10.0.0.2, listen: [ { port: 80, accept: { never: true } } ] }
            workloads:
              - { name: w, from: client, to: server:80, kind: curl, count: 1 }
            sample_every: 1s
            """)
        #expect(r.workload("w")?.outcomes == [Outcome("pending", 1)])
    }
}
