import ArgumentParser
import Foundation
import KernelLab
import LinuxTCP
import Report
import Results
import Scenario
import Simulation

/// `twlab run FILE|NAME`: load a scenario, run it on an engine, print the report or the JSON.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario and print what happened.",
        discussion: """
            Prints the outcomes as a `curl | sort | uniq -c` histogram, `ss` socket states and \
            listeners, and `nstat` counters. When the scenario is run as written, the outcomes \
            are checked against what Linux 6.18.44 did (its expectations).
            """)

    @Argument(help: "A scenario file (.yaml) or the name of a built-in scenario (see 'twlab scenarios').")
    var scenario: String

    @Option(help: "The engine: simulator, or kernel (real namespaces; needs root).")
    var engine: String = "simulator"

    @Flag(help: "Print the result as JSON (design.md's contract) and nothing else on stdout.")
    var json = false

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Override a scenario value, e.g. hosts.client.sysctl.net.ipv4.tcp_tw_reuse=1 (repeatable).",
            valueName: "key=value"))
    var overrides: [String] = []

    @Option(help: "Also write a self-contained HTML report with charts to this file.")
    var html: String?

    @Option(help: "Sample a time series every DURATION (e.g. 100ms), as sample_every in the scenario.")
    var sample: String?

    @Option(help: "Use this seed instead of the scenario's.")
    var seed: UInt64?

    @Flag(help: "Exit 1 when an expectation is not met (needs the scenario as written).")
    var check = false

    @Option(
        help: ArgumentHelp(
            "Simulate this kernel profile instead of the scenario's (e.g. 3.10), or 'all' for one table of every profile.",
            valueName: "version"))
    var kernel: String?

    func run() throws {
        if let path = html { try HTMLFile.checkWritable(path) }
        guard engine == "simulator" || engine == "kernel" else {
            throw CommandFailure.bad("unknown engine '\(engine)' (expected simulator or kernel)")
        }
        if kernel != nil && engine == "kernel" {
            throw CommandFailure.bad(
                "--kernel selects a simulator profile; the kernel engine runs this machine's kernel (\(kernelRelease()))"
            )
        }
        if kernel == "all" { return try sweep() }
        let sets =
            overrides + (seed.map { ["seed=\($0)"] } ?? []) + (sample.map { ["sample_every=\($0)"] } ?? [])
            + (kernel.map { ["kernel=\($0)"] } ?? [])
        let modified = !sets.isEmpty
        if check && modified {
            throw CommandFailure.bad(
                "--check needs the scenario as written: the kernel's expectations do not apply with --set or --seed"
            )
        }

        let scenario: Scenario
        do {
            scenario = try ScenarioLoader.load(self.scenario, overrides: sets)
        } catch {
            throw CommandFailure.bad(oneLine(error.description))
        }
        if check && scenario.expect.isEmpty {
            throw CommandFailure.bad("--check: scenario \(scenario.name) has no expectations")
        }

        var result: RunResult
        do {
            result = try SimulatorEngine().run(scenario)
        } catch {
            throw CommandFailure.bad(
                "\(scenario.source): the simulator could not run it: \(oneLine(error.description))")
        }
        // The page's own run, sampled for its charts when the scenario is not (PageSampling).
        var page = html == nil ? nil : try PageSampling.sampled(scenario, after: result)
        if engine == "kernel" {
            // The kernel samples at the simulator's sample times; the page's, if it has its own.
            result = try KernelRun.run(
                scenario, argument: self.scenario, overrides: sets, simulated: page?.result ?? result)
            if page != nil {
                page?.result = result
                result.series = Series()
            }
        }

        let verdicts = modified ? [] : scenario.expect.map { $0.check(result) }
        if json {
            print(result.jsonText())
        } else {
            let style = TerminalReport.Style(color: Terminal.standardOutputWantsColor)
            print(
                TerminalReport.render(result, scenario: scenario, verdicts: verdicts, style: style),
                terminator: "")
            // With --set the loader drops expectations; say so if the scenario as written has them.
            if modified, let asWritten = try? ScenarioLoader.load(self.scenario), !asWritten.expect.isEmpty {
                print(
                    "\nexpectations: not checked, the kernel's expectations do not apply to a modified scenario"
                )
            }
        }

        if let path = html {
            let (s, r) = page ?? (scenario, result)
            try HTMLFile.write(
                HTMLReport.render(r, scenario: s, verdicts: verdicts, sampleIntervalChosen: page != nil),
                to: path)
        }

        let unmet = verdicts.filter { !$0.passed }
        if check && !unmet.isEmpty {
            throw CommandFailure(
                code: CommandFailure.checkFailed,
                message: "check failed: \(unmet.count) of \(verdicts.count) expectations not met")
        }
    }

    /// `--kernel all`: the scenario on every profile, one table (or a JSON array of results);
    /// with `--html`, also a page with one panel of charts per profile.
    func sweep() throws {
        if check { throw CommandFailure.bad("--check applies to one kernel profile, not to --kernel all") }
        let base =
            overrides + (seed.map { ["seed=\($0)"] } ?? []) + (sample.map { ["sample_every=\($0)"] } ?? [])
        let (name, rows) = KernelSweep.rows(self.scenario, overrides: base)
        // A scenario no profile can run is bad input, said once (the newest profile's reason).
        if !rows.contains(where: { (try? $0.outcome.get()) != nil }),
            case .failure(let e)? = rows.last?.outcome
        {
            throw CommandFailure.bad(e.message)
        }
        if json {
            let items = rows.map { row -> String in
                switch row.outcome {
                case .success(let r): return r.jsonText()
                case .failure(let e):
                    struct NotRun: Encodable {
                        var kernel: String
                        var error: String
                    }
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]  // the same bytes every run
                    let data = (try? encoder.encode(NotRun(kernel: row.kernel, error: e.message))) ?? Data()
                    return String(decoding: data, as: UTF8.self)
                }
            }
            print("[\n" + items.joined(separator: ",\n") + "\n]")
        } else {
            print(KernelSweepReport.render(scenario: name, rows: rows), terminator: "")
        }
        if let path = html { try sweepPage(rows, overrides: base, to: path) }
    }

    /// The `--kernel all` page (``KernelSweep/pageRows(_:scenario:overrides:)``).
    func sweepPage(_ rows: [KernelSweepReport.Row], overrides: [String], to path: String) throws {
        let (rows, chosen) = KernelSweep.pageRows(rows, scenario: self.scenario, overrides: overrides)
        // The scenario as written for the header, or else the newest profile's that loaded.
        guard
            let written = (try? ScenarioLoader.load(self.scenario, overrides: overrides))
                ?? rows.last(where: { $0.scenario != nil })?.scenario
        else { return }
        try HTMLFile.write(
            HTMLReport.renderKernelSweep(scenario: written, rows: rows, sampleIntervalChosen: chosen),
            to: path)
    }
}
