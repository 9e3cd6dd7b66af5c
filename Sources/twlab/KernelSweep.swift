import LinuxTCP
import Report
import Scenario
import Simulation

/// One scenario simulated on every kernel profile (`--kernel all`).
enum KernelSweep {
    /// A row per profile, oldest first; a profile the scenario cannot run on (a sysctl it does
    /// not have) gets the reason instead of a result.
    static func rows(_ scenario: String, overrides: [String]) -> (name: String, rows: [KernelSweepReport.Row])
    {
        var rows: [KernelSweepReport.Row] = []
        var name = scenario
        for profile in KernelProfile.all {
            do {
                let s = try ScenarioLoader.load(scenario, overrides: overrides + ["kernel=\(profile.name)"])
                name = s.name
                rows.append(.init(kernel: profile.name, outcome: .success(try SimulatorEngine().run(s))))
            } catch {
                rows.append(
                    .init(kernel: profile.name, outcome: .failure(.init(oneLine(String(describing: error))))))
            }
        }
        return (name, rows)
    }
}
