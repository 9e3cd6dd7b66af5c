import LinuxTCP
import Report
import Scenario
import Simulation

/// One scenario simulated on every kernel profile (`--kernel all`).
enum KernelSweep {
    /// A row per profile, oldest first; a profile the scenario cannot run on (a sysctl it does
    /// not have) gets the reason instead of a result. `sampleEvery`, when given, samples every
    /// run at that interval (for the HTML page's charts) without changing what else it gives.
    static func rows(_ scenario: String, overrides: [String], sampleEvery: Nanos? = nil) -> (
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
                rows.append(
                    .init(kernel: profile.name, outcome: .failure(.init(oneLine(String(describing: error))))))
            }
        }
        return (name, rows)
    }
}
