import ArgumentParser
import KernelLab
import Scenario

/// `twlab lab …`: the kernel lab's housekeeping.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Housekeeping of the kernel engine's network namespaces.",
        subcommands: [Cleanup.self, AgentCommandLine.self])

    /// `twlab lab cleanup`: removes what killed runs left behind.
    struct Cleanup: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cleanup",
            abstract: "Remove twlab-* namespaces (and the processes in them) left by killed runs.",
            discussion: """
                Only namespaces named twlab-<pid>-… whose twlab process is gone are removed; a \
                running twlab's namespaces and anything not named twlab-* are never touched.
                """)

        func run() throws {
            do {
                try Lab.preflight()
            } catch {
                throw CommandFailure.bad(error.message)
            }
            let removed = Lab.cleanStale()
            print(removed.isEmpty ? "nothing to clean up" : "removed \(removed.joined(separator: " "))")
        }
    }

    /// `twlab lab agent`: runs inside a namespace, started by the kernel engine.
    struct AgentCommandLine: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "agent", abstract: "Internal: the kernel engine's in-namespace agent.",
            shouldDisplay: false)

        @Option var host: String
        @Option(name: .customLong("set")) var overrides: [String] = []
        @Argument var scenario: String

        func run() throws {
            let s: Scenario
            do {
                s = try ScenarioLoader.load(scenario, overrides: overrides)
            } catch {
                throw CommandFailure.bad(oneLine(error.description))
            }
            let code = Agent.run(scenario: s, host: host, input: 0, output: 1, observer: NamespaceObserver())
            if code != 0 { throw CommandFailure(code: code, message: nil) }
        }
    }
}
