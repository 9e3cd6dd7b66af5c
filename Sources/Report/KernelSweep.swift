import LinuxTCP
import Scenario
import Simulation

/// One scenario simulated on every kernel profile (`twlab run NAME --kernel all`): the rows the
/// terminal table, `--json` and the HTML page are made of.
public enum KernelSweep {
    /// A row per profile, oldest first; a profile the scenario cannot run on (a sysctl it does
    /// not have) gets the reason instead of a result. `sampleEvery`, when given, samples every
    /// run at that interval (for the HTML page's charts) without changing what else it gives.
    public static func rows(_ scenario: String, overrides: [String], sampleEvery: Nanos? = nil) -> (
        name: String, rows: [KernelSweepReport.Row]
    ) {
        var rows: [KernelSweepReport.Row] = []
        var name = scenario
        for profile in KernelProfile.all {
            do {
                var s = try ScenarioLoader.load(scenario, overrides: overrides + ["kernel=\(profile.name)"])
                if let sampleEvery { s.sampleEvery = sampleEvery }
                name = s.name
                rows.append(
                    .init(kernel: profile.name, outcome: .success(try SimulatorEngine().run(s)), scenario: s))
            } catch {
                let message = String(describing: error).split(whereSeparator: \.isNewline).joined(
                    separator: "; ")
                rows.append(.init(kernel: profile.name, outcome: .failure(.init(message))))
            }
        }
        return (name, rows)
    }

    /// The rows of the HTML page. Charts need a time series: when neither the scenario nor
    /// `--sample` asks for one, the profiles run again sampled at an interval chosen from how
    /// long the first runs lasted (``HTMLReport/defaultSampleInterval(_:)``); sampling changes
    /// nothing else, so the table and the JSON stay those of `rows`. `chosen` says whether the
    /// interval was chosen here.
    public static func pageRows(_ rows: [KernelSweepReport.Row], scenario: String, overrides: [String]) -> (
        rows: [KernelSweepReport.Row], chosen: Bool
    ) {
        if rows.contains(where: { $0.scenario?.sampleEvery != nil }) { return (rows, false) }
        let every = HTMLReport.defaultSampleInterval(rows)
        return (self.rows(scenario, overrides: overrides, sampleEvery: every).rows, true)
    }
}
