import ArgumentParser
import Report
import Results
import Scenario
import Simulation

/// `twlab compare NAME|FILE...`: both engines, side by side; exit 1 on a disagreement.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run scenarios on the simulator and on the real kernel, and compare them key by key.",
        discussion: """
            Needs root (the kernel engine creates network namespaces). A key differs when the \
            two values are not equal, unless the scenario's expectations say the kernel varies \
            there and both values are ones the kernel gave. Exit 1 if any key differs.
            """)

    @Argument(help: "Scenario files or built-in scenario names.")
    var scenarios: [String] = []

    @Flag(help: "Compare every built-in scenario.")
    var all = false

    @Flag(help: "Also list the keys that are shown but not compared (most counters).")
    var everything = false

    @Option(help: "Write an HTML page overlaying both engines' series (one scenario only).")
    var html: String?

    @Option(help: "Sample a time series every DURATION (e.g. 100ms), for the HTML overlay.")
    var sample: String?

    func run() throws {
        let names = all ? Catalogue.entries.map(\.name) : scenarios
        guard !names.isEmpty else {
            throw CommandFailure.bad("compare needs scenario names or files, or --all")
        }
        if html != nil && names.count != 1 { throw CommandFailure.bad("--html takes exactly one scenario") }
        let sets = sample.map { ["sample_every=\($0)"] } ?? []
        let style = TerminalReport.Style(color: Terminal.standardOutputWantsColor)
        var failed: [String] = []
        for name in names {
            let scenario: Scenario
            do {
                scenario = try ScenarioLoader.load(name, overrides: sets)
            } catch {
                throw CommandFailure.bad(oneLine(error.description))
            }
            let sim: RunResult
            do {
                sim = try SimulatorEngine().run(scenario)
            } catch {
                throw CommandFailure.bad(
                    "\(scenario.source): the simulator could not run it: \(error.description)")
            }
            let kernel = try KernelRun.run(scenario, argument: name, overrides: sets, simulated: sim)
            // With --sample the loader drops expectations; the scenario as written has them.
            let expectations = sets.isEmpty ? scenario.expect : (try? ScenarioLoader.load(name).expect) ?? []
            let c = Comparison(simulator: sim, kernel: kernel, expectations: expectations)
            if let path = html {
                try HTMLFile.write(
                    HTMLReport.renderComparison(
                        simulator: sim, kernel: kernel, comparison: c, scenario: scenario), to: path)
            }
            print(
                ComparisonReport.render(
                    c, scenario: scenario.name, kernel: kernel.kernel, everything: everything, style: style))
            Terminal.flushStandardOutput()
            if !c.differences.isEmpty { failed.append(scenario.name) }
        }
        if names.count > 1 {
            print(
                failed.isEmpty
                    ? "all \(names.count) scenarios agree" : "disagree: \(failed.joined(separator: ", "))")
        }
        if !failed.isEmpty {
            throw CommandFailure(
                code: CommandFailure.checkFailed,
                message: "compare: \(failed.count) of \(names.count) scenarios disagree")
        }
    }
}
