import ArgumentParser
import KernelLab
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
            there and both values are ones the kernel gave. Exit 1 if any key differs. \
            With --kernel-runs N, a scenario that disagrees is run on the kernel again, up to N \
            runs in all, and disagrees only if every run does; each run is printed, so a \
            kernel value outside the declared variation is never hidden.
            """)

    @Argument(help: "Scenario files or built-in scenario names.")
    var scenarios: [String] = []

    @Flag(help: "Compare every built-in scenario.")
    var all = false

    @Flag(help: "Also list the keys that are shown but not compared (most counters).")
    var everything = false

    @Option(
        name: .customLong("kernel-runs"),
        help: "Kernel runs a disagreeing scenario gets before it counts as disagreeing (default 1).")
    var kernelRuns = 1

    @Option(
        help:
            "Write an HTML page overlaying both engines' series (one scenario only; with --kernel-runs, the deciding run)."
    )
    var html: String?

    @Option(help: "Sample a time series every DURATION (e.g. 100ms), for the HTML overlay.")
    var sample: String?

    func run() throws {
        let names = all ? Catalogue.entries.map(\.name) : scenarios
        guard !names.isEmpty else {
            throw CommandFailure.bad("compare needs scenario names or files, or --all")
        }
        if html != nil && names.count != 1 { throw CommandFailure.bad("--html takes exactly one scenario") }
        if let path = html { try HTMLFile.checkWritable(path) }
        guard (1...10).contains(kernelRuns) else {
            throw CommandFailure.bad("--kernel-runs: \(kernelRuns) is not a count from 1 to 10")
        }
        let sets = sample.map { ["sample_every=\($0)"] } ?? []
        let style = TerminalReport.Style(color: Terminal.standardOutputWantsColor)
        var failed: [String] = []
        var rerunAgreed: [String] = []  // scenarios whose first kernel run disagreed
        var skipped: [String] = []  // scenarios only the simulator runs
        for name in names {
            let scenario: Scenario
            do {
                scenario = try ScenarioLoader.load(name, overrides: sets)
            } catch {
                throw CommandFailure.bad(oneLine(error.description))
            }
            // What only the simulator runs (an older kernel profile, ...) has nothing to be
            // compared with here.
            if let why = KernelEngine.unsupported(scenario) {
                if !all { throw CommandFailure.bad("compare: \(scenario.source): \(why)") }
                print("skipped: \(scenario.source): \(why)\n")
                skipped.append(scenario.name)
                continue
            }
            var sim: RunResult
            do {
                sim = try SimulatorEngine().run(scenario)
            } catch {
                throw CommandFailure.bad(
                    "\(scenario.source): the simulator could not run it: \(error.description)")
            }
            // The page overlays both engines' series: sample both when the scenario does not
            // (the kernel samples at the simulator's sample times).
            var pageScenario = scenario
            if html != nil, let page = try PageSampling.sampled(scenario, after: sim) {
                (pageScenario, sim) = page
            }
            // With --sample the loader drops expectations; the scenario as written has them (it
            // loaded above with the same name, so it loads again).
            let expectations: [Expectation]
            do {
                expectations = sets.isEmpty ? scenario.expect : try ScenarioLoader.load(name).expect
            } catch {
                throw CommandFailure.bad(oneLine(error.description))
            }
            var deciding: (RunResult, Comparison)?
            let agreedOn = try Comparison.firstAgreement(
                simulator: sim, expectations: expectations, runs: kernelRuns,
                kernel: { try KernelRun.run(scenario, argument: name, overrides: sets, simulated: sim) }
            ) { run, kernel, c in
                deciding = (kernel, c)
                print(
                    ComparisonReport.render(
                        c, scenario: scenario.name, kernel: kernel.kernel, everything: everything,
                        style: style))
                if !c.differences.isEmpty && run < kernelRuns {
                    print(
                        "kernel run \(run) of \(kernelRuns) disagrees; running \(scenario.name) on the kernel again\n"
                    )
                }
                Terminal.flushStandardOutput()
            }
            // The page shows the run that decided: the agreeing one, or the last that disagreed.
            if let path = html, let (kernel, c) = deciding {
                try HTMLFile.write(
                    HTMLReport.renderComparison(
                        simulator: sim, kernel: kernel, comparison: c, scenario: pageScenario,
                        sampleIntervalChosen: pageScenario.sampleEvery != scenario.sampleEvery),
                    to: path)
            }
            if let run = agreedOn, run > 1 { rerunAgreed.append("\(scenario.name) (kernel run \(run))") }
            if agreedOn == nil { failed.append(scenario.name) }
        }
        if !rerunAgreed.isEmpty {
            print("agreed only on a later kernel run: \(rerunAgreed.joined(separator: ", "))")
        }
        if names.count > 1 {
            let compared = names.count - skipped.count
            let note = skipped.isEmpty ? "" : " (\(skipped.count) skipped: only the simulator runs them)"
            print(
                failed.isEmpty
                    ? "all \(compared) scenarios agree\(note)" : "disagree: \(failed.joined(separator: ", "))"
            )
        }
        if !failed.isEmpty {
            throw CommandFailure(
                code: CommandFailure.checkFailed,
                message: "compare: \(failed.count) of \(names.count - skipped.count) scenarios disagree")
        }
    }
}
