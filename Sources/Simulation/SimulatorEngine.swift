import LinuxTCP
import Results
import Scenario

/// Runs a scenario on the model of the Linux stack and returns the result contract.
///
/// Deterministic: the same scenario and seed give an identical `RunResult`.
public struct SimulatorEngine: Sendable {
    public init() {}

    /// Simulates `scenario` to its end and collects the result.
    public func run(_ scenario: Scenario) throws(SimulationError) -> RunResult {
        // Replaced by the discrete-event engine in this same session.
        throw SimulationError("the simulator engine is being written")
    }
}

/// A scenario the simulator could not finish, e.g. one that would run for ever.
public struct SimulationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
