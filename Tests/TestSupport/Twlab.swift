import Foundation

/// Runs the built `twlab` binary.
public enum Twlab {
    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    /// `twlab` in the directory of the running test bundle (`.build/debug`), if built.
    public static let binary: URL? = {
        #if os(Linux)
            let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            let dir = exe.deletingLastPathComponent()
        #else
            guard let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) else {
                return nil
            }
            let dir = bundle.bundleURL.deletingLastPathComponent()
        #endif
        let url = dir.appendingPathComponent("twlab")
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }()

    public static func run(_ arguments: String...) throws -> Result { try run(arguments) }

    /// - Parameter environment: variables to set (or replace) in twlab's environment.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try runProgram(binary!.path, arguments, environment: environment)
    }

    /// Runs any program the way ``run(_:environment:)`` runs twlab.
    public static func runProgram(
        _ path: String, _ arguments: [String], environment extra: [String: String] = [:]
    )
        throws -> Result
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment.merge(extra) { $1 }
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both to the end before waiting, so a full pipe cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}
