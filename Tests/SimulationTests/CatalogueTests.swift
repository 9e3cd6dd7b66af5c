import Results
import Scenario
import Simulation
import Testing

/// Every built-in scenario reproduces what Linux 6.18.44 did (lab-notes.md), on the simulator.
@Suite struct CatalogueTests {
    @Test(arguments: Catalogue.entries.map(\.name))
    func reproducesTheKernel(_ name: String) throws {
        let scenario = try ScenarioLoader.load(name)
        #expect(!scenario.expect.isEmpty, "\(name) has no expectations")
        let result = try SimulatorEngine().run(scenario)
        for v in scenario.expect.map({ $0.check(result) }) {
            #expect(
                v.passed,
                "\(name): \(v.expectation.path) = \(v.actual ?? "missing"), kernel gave \(v.expectation.matcher)"
            )
        }
    }

    @Test func sameSeedGivesIdenticalJSON() throws {
        let s = try ScenarioLoader.load("seed000-g-two-clients-http10")
        let a = try SimulatorEngine().run(s).jsonText()
        let b = try SimulatorEngine().run(s).jsonText()
        #expect(a == b)
    }
}
