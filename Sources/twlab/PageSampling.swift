import Report
import Results
import Scenario
import Simulation

/// An HTML page draws time series; a scenario without `sample_every` (and no `--sample`) has
/// none. Then the page gets its own run, sampled at an interval chosen from how long the first
/// run lasted (``HTMLReport/defaultSampleInterval(runs:)``), while the terminal and `--json`
/// keep the run as asked for (sampling changes nothing else in a result).
enum PageSampling {
    /// The scenario sampled for the page and the simulator's run of it; nil when the scenario
    /// is sampled already.
    static func sampled(_ scenario: Scenario, after result: RunResult) throws -> (
        scenario: Scenario, result: RunResult
    )? {
        guard scenario.sampleEvery == nil else { return nil }
        var s = scenario
        s.sampleEvery = HTMLReport.defaultSampleInterval(runs: [(result, scenario)])
        do {
            return (s, try SimulatorEngine().run(s))
        } catch {
            throw CommandFailure.bad(
                "\(scenario.source): the simulator could not run it: \(oneLine(error.description))")
        }
    }
}
