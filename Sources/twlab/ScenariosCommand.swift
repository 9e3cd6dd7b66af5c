import ArgumentParser
import Report
import Scenario

/// `twlab scenarios`: the built-in catalogue, one line each, name then description.
struct ScenariosCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenarios",
        abstract: "List the built-in scenarios.",
        discussion: """
            With --kernel all, every scenario is also simulated on every kernel profile, and \
            each one whose outcome depends on the version gets its table (as \
            'twlab run NAME --kernel all' prints it).
            """)

    @Option(
        help: ArgumentHelp(
            "'all': show each profile-sensitive scenario's result per kernel profile.", valueName: "all"))
    var kernel: String?

    func run() throws {
        if let k = kernel {
            guard k == "all" else {
                throw CommandFailure.bad("--kernel: only 'all' is meaningful here, got '\(k)'")
            }
            return sweepAll()
        }
        let entries = Catalogue.entries
        let width = entries.map(\.name.count).max() ?? 0
        for entry in entries {
            let name = entry.name + String(repeating: " ", count: width - entry.name.count)
            print(entry.description.isEmpty ? entry.name : "\(name)  \(entry.description)")
        }
    }

    /// Every catalogue scenario on every profile: a table for each that the version changes.
    func sweepAll() {
        var same: [String] = []
        for entry in Catalogue.entries {
            let (name, rows) = KernelSweep.rows(entry.name, overrides: [])
            if KernelSweepReport.isProfileSensitive(rows) {
                print(KernelSweepReport.render(scenario: name, rows: rows))
            } else {
                same.append(name)
            }
            Terminal.flushStandardOutput()
        }
        if !same.isEmpty { print("the same on every profile: \(same.joined(separator: ", "))") }
    }
}
