import ArgumentParser

/// The `twlab` command: subcommands, version, and the mapping of every error to one line on
/// stderr and an exit code (design.md: 2 bad input, 1 failed check, 0 otherwise).
struct Twlab: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "twlab",
        abstract: "Simulate the Linux TCP connection lifecycle: TIME_WAIT, ephemeral ports, listen queues.",
        version: "twlab \(version)",
        subcommands: [
            RunCommand.self, CompareCommand.self, ScenariosCommand.self, InspectCommand.self,
            AdviseCommand.self, ExportCommand.self, LabCommand.self,
        ])

    static let subcommandNames = configuration.subcommands.compactMap { $0.configuration.commandName }

    /// Parses `CommandLine.arguments`, runs the command and exits with its code.
    static func main() {
        let code = execute(Array(CommandLine.arguments.dropFirst()))
        Terminal.flushStandardOutput()
        Terminal.exit(code)
    }

    /// Runs the command line `arguments` (without the program name) and returns the exit code.
    ///
    /// Help and `--version` go to stdout with 0. Usage errors (unknown option, missing or bad
    /// argument) and the commands' own failures print `twlab: MESSAGE` on stderr, one line.
    static func execute(_ arguments: [String]) -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            return 0
        } catch let failure as CommandFailure {
            if let message = failure.message { Terminal.writeError("twlab: \(message)") }
            return failure.code
        } catch {
            if exitCode(for: error) == .success {
                let text = fullMessage(for: error)
                if !text.isEmpty { print(text) }
                return 0
            }
            let help =
                subcommandNames.contains(arguments.first ?? "")
                ? "twlab \(arguments[0]) --help" : "twlab --help"
            Terminal.writeError("twlab: \(oneLine(message(for: error))) (see '\(help)')")
            return CommandFailure.badInput
        }
    }
}

/// A command's failure: exit code and the one line for stderr (nil when already reported).
struct CommandFailure: Error {
    static let badInput: Int32 = 2
    static let checkFailed: Int32 = 1

    var code: Int32
    var message: String?

    /// Bad input: the scenario, an argument, an engine (exit 2).
    static func bad(_ message: String) -> CommandFailure {
        CommandFailure(code: badInput, message: message)
    }
}

/// `text` on one line: line breaks become "; ".
func oneLine(_ text: String) -> String {
    text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters() }.filter { !$0.isEmpty }
        .joined(separator: "; ")
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        var s = self
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
