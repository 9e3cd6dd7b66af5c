import LinuxTCP
import Results

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reads scenario files (design.md, schema version 1): YAML text to a validated ``Scenario``.
///
/// Every unknown key, bad value and dangling name is an error naming file, line and column.
public enum ScenarioLoader {
    /// YAML text -> validated Scenario. `file` is used in errors and as `source`.
    ///
    /// `overrides` are `--set KEY=VALUE` strings, applied to the YAML tree before validation.
    public static func parse(_ yaml: String, file: String, overrides: [String] = []) throws(ScenarioError)
        -> Scenario
    {
        guard var root = try YNode.compose(yaml, file: file) else {
            throw ScenarioError(
                file: file,
                message: "the scenario is empty (it needs at least: twlab, name, hosts, workloads)")
        }
        guard case .map = root.value else {
            throw ScenarioError(
                file: file, line: root.line, column: root.column,
                message:
                    "a scenario is a map of keys (twlab, name, hosts, workloads, ...), not \(root.shortDescription)"
            )
        }
        try Overrides.apply(overrides, to: &root)
        // The kernel's expectations describe the scenario as written; a modified one neither
        // checks nor validates them (a --set may rename what they name).
        var scenario = try Validator(file: file, readsExpectations: overrides.isEmpty).scenario(root)
        scenario.source = file
        return scenario
    }

    /// NAME of a catalogue entry, or a path to a .yaml/.yml file. Unknown name and missing file
    /// are errors (file = the argument, line 0).
    ///
    /// An argument that ends in `.yaml` or `.yml` or contains `/` is a path; anything else is a
    /// catalogue name. Catalogue scenarios get `catalogue:NAME` as their file and source.
    public static func load(_ nameOrPath: String, overrides: [String] = []) throws(ScenarioError) -> Scenario
    {
        let isPath = nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") || nameOrPath.contains("/")
        guard isPath else {
            guard let entry = Catalogue.entry(named: nameOrPath) else {
                let near = Catalogue.entries.map(\.name).filter { $0.contains(nameOrPath) }.prefix(5)
                let hint =
                    near.isEmpty
                    ? "`twlab scenarios` lists them, or give a path to a .yaml file"
                    : "did you mean \(near.joined(separator: ", "))?"
                throw ScenarioError(file: nameOrPath, message: "no built-in scenario has this name (\(hint))")
            }
            return try parse(entry.yaml, file: "catalogue:\(entry.name)", overrides: overrides)
        }
        let text = try readFile(nameOrPath)
        return try parse(text, file: nameOrPath, overrides: overrides)
    }

    private static func readFile(_ path: String) throws(ScenarioError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            if !FileManager.default.fileExists(atPath: path) {
                throw ScenarioError(file: path, message: "no such file")
            }
            if (try? FileManager.default.contentsOfDirectory(atPath: path)) != nil {
                throw ScenarioError(file: path, message: "is a directory, not a scenario file")
            }
            throw ScenarioError(
                file: path, message: "cannot be read (\(oneLine(error.localizedDescription)))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError(file: path, message: "is not UTF-8 text")
        }
        return text
    }
}
