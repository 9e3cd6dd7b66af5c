import ArgumentParser
import Scenario

/// `twlab scenarios`: the built-in catalogue, one line each, name then description.
struct ScenariosCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenarios",
        abstract: "List the built-in scenarios.")

    func run() throws {
        let entries = Catalogue.entries
        let width = entries.map(\.name.count).max() ?? 0
        for entry in entries {
            let name = entry.name + String(repeating: " ", count: width - entry.name.count)
            print(entry.description.isEmpty ? entry.name : "\(name)  \(entry.description)")
        }
    }
}
