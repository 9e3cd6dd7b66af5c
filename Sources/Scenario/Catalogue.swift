import Yams

/// The built-in scenarios: one per lab-notes experiment, runnable by name (`twlab run NAME`).
///
/// The files in `scenarios/` are the source of truth; `scripts/embed-catalogue.py` copies them
/// into `Catalogue+Embedded.swift`, and a test fails when the two differ.
public enum Catalogue {
    /// One built-in scenario.
    public struct Entry: Sendable {
        /// The file name without `.yaml`, also the scenario's `name:`.
        public let name: String
        /// The scenario's one-line `description:`.
        public let description: String
        /// The file's text.
        public let yaml: String
    }

    /// Every built-in scenario, sorted by name.
    public static let entries: [Entry] =
        embedded
        .sorted { $0.name < $1.name }
        .map { Entry(name: $0.name, description: descriptionLine(of: $0.yaml), yaml: $0.yaml) }

    /// The built-in scenario called `name`.
    public static func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// The top-level `description:` of a scenario text, "" when it has none.
    static func descriptionLine(of yaml: String) -> String {
        guard case .mapping(let m)? = try? Yams.compose(yaml: yaml), let d = m["description"]?.string else {
            return ""
        }
        return oneLine(d)
    }
}
