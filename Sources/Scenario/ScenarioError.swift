/// A scenario that cannot be used, with the place that says so: one line for the terminal.
///
/// `description` is `FILE:LINE:COLUMN: message`, or `FILE: message` when there is no position
/// (a missing file, an unknown catalogue name, a bad `--set`). Lines and columns start at 1.
public struct ScenarioError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path, `catalogue:NAME`, or `--set` for a command-line override.
    public var file: String
    /// 1-based; 0 when the error has no position.
    public var line: Int
    /// 1-based, counted in Unicode scalars; 0 when the error has no position.
    public var column: Int
    /// What is wrong, on one line.
    public var message: String

    public init(file: String, line: Int = 0, column: Int = 0, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        line == 0 ? "\(file): \(message)" : "\(file):\(line):\(column): \(message)"
    }
}
