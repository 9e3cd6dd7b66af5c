import Results
import Scenario
import Simulation
import Testing

/// Time series (issue 7): sampled every `sample_every`, ending at the run's stop, adding up.
@Suite struct SeriesTests {
    @Test func samplesEveryPeriodAndAddUpToTheTotals() throws {
        let s = try ScenarioLoader.load("seed000-b-http11-reuse1-burst", overrides: ["sample_every=100ms"])
        let r = try SimulatorEngine().run(s)
        // k x 100 ms, then the stop (the end snapshot, 5 ms after the last curl).
        #expect(Array(r.series.time.dropLast()) == [0, 0.1, 0.2])
        // Snapshot times are reported to the millisecond, sample times exactly.
        #expect(abs((r.series.time.last ?? 0) - (r.snapshot("end")?.time ?? -1)) < 0.001)
        let loop = try #require(r.series.workloads.first)
        for o in r.workload("loop")!.outcomes {
            #expect(loop.outcomes.first { $0.name == o.key }?.values.reduce(0, +) == o.count, "\(o.key)")
        }
        let client = try #require(r.series.hosts.first { $0.host == "client" })
        #expect(
            client.states.first { $0.name == "TIME-WAIT" }?.values.last
                == r.snapshot("end")?.host("client")?.count("TIME-WAIT"))
        #expect(client.ports.map(\.name) == ["10.77.0.11>10.77.0.2:80"])
        for c in r.counters(of: "client")!.values {
            #expect(client.counters.first { $0.name == c.key }?.values.reduce(0, +) == c.count, "\(c.key)")
        }
        let server = try #require(r.series.hosts.first { $0.host == "server" })
        #expect(server.listeners.map(\.port) == [80])
        #expect(server.listeners.first?.backlog == 511)
    }

    @Test func listenerQueuesOverTime() throws {
        // k1: the accept queue is full (11 over a backlog of 10) from the first sample on.
        let s = try ScenarioLoader.load("seed004-k1-accept-never-abort0", overrides: ["sample_every=1s"])
        let r = try SimulatorEngine().run(s)
        let l = try #require(r.series.hosts.first { $0.host == "server" }?.listeners.first)
        #expect(l.port == 8080 && l.backlog == 10)
        #expect(Array(l.recvQ.dropFirst()).allSatisfy { $0 == 11 })
        #expect(l.synRecv.allSatisfy { $0 == 0 })
    }

    @Test func noSeriesUnlessAsked() throws {
        let r = try SimulatorEngine().run(try ScenarioLoader.load("seed000-b-http11-reuse1-burst"))
        #expect(r.series.isEmpty)
    }
}
