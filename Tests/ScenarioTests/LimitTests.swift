import Scenario
import Testing

/// Values the engines cannot represent are bad input, with file:line:column, not a crash.
@Suite struct LimitTests {
    static let base = """
        twlab: 1
        name: t
        hosts:
          client: { address: 10.0.0.1 }
          server: { address: 10.0.0.2, listen: [ { port: 80 } ] }
        workloads:

        """

    func error(_ workload: String, overrides: [String] = []) -> String? {
        do {
            _ = try ScenarioLoader.parse(Self.base + workload + "\n", file: "t.yaml", overrides: overrides)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func tooFastRate() {
        #expect(
            error(
                "  - { name: r, from: client, to: server:80, kind: rate, rate: 100000000000/s, duration: 1s }"
            )
                == "t.yaml:7:63: workload 'r': rate: '100000000000/s' is too fast (at most 10000000/s)")
    }

    @Test func tooLongDuration() {
        #expect(
            error("  - { name: c, from: client, to: server:80, kind: curl, count: 2, interval: 106751d }")
                == "t.yaml:7:77: workload 'c': interval: '106751d' is too long (at most 1000d)")
    }

    /// With --set the kernel's expectations neither apply nor get checked against the change.
    @Test func expectationsAreNotValidatedUnderSet() throws {
        let s = try ScenarioLoader.load(
            "seed000-b-http11-reuse1-burst", overrides: ["workloads.loop.name=burst"])
        #expect(s.workloads.map(\.name) == ["burst"])
        #expect(s.expect.isEmpty)
    }
}
