import Glibc
import KernelLab
import Results
import Scenario

/// Runs a scenario on the kernel engine with the command line's conventions: progress on a
/// terminal, errors as one line and exit code 2, Ctrl-C as 130 after cleanup.
enum KernelRun {
    /// `expected`: how long the run should take (from the simulator), for the progress line.
    /// `simulated`: the simulator's result for the same scenario: its duration drives the
    /// progress line and its sample times the kernel's samples, so that the series line up.
    static func run(_ scenario: Scenario, argument: String, overrides: [String], simulated: RunResult) throws
        -> RunResult
    {
        let expected = simulated.snapshots.map(\.time).max() ?? simulated.series.time.last
        var arg = argument
        if arg.hasSuffix(".yaml") || arg.hasSuffix(".yml") || arg.contains("/") {
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
            if realpath(arg, &buf) != nil { arg = String(cString: buf) }
        }
        let showProgress = isatty(STDERR_FILENO) == 1
        let total = expected.map { format1($0) + " s" } ?? "?"
        var progress: KernelEngine.Progress? = nil
        if showProgress {
            progress = { @Sendable (elapsed: Double, running: [String]) in
                progressLine(elapsed: elapsed, total: total, running: running)
            }
        }
        defer { if showProgress { Terminal.writeRaw("\r\u{1B}[2K") } }
        do {
            return try KernelEngine().run(
                scenario, source: .init(argument: arg, overrides: overrides), progress: progress,
                sampleTimes: simulated.series.time, deadline: (expected ?? 0) * 2 + 30)
        } catch {
            if error.wasInterrupted {
                throw CommandFailure(code: 130, message: error.message)
            }
            throw CommandFailure.bad(error.message)
        }
    }

    @Sendable static func progressLine(elapsed: Double, total: String, running: [String]) {
        let what = running.isEmpty ? "" : ", running " + running.joined(separator: ", ")
        Terminal.writeRaw("\r\u{1B}[2K  kernel: " + format1(elapsed) + " s of ~" + total + what)
    }

    static func format1(_ v: Double) -> String {
        let t = (v * 10).rounded() / 10
        return String(t)
    }
}

extension Terminal {
    /// Writes `text` to stderr as is (no newline).
    static func writeRaw(_ text: String) {
        var bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes {
                write(STDERR_FILENO, $0.baseAddress! + off, $0.count - off)
            }
            if n <= 0 { return }
            off += n
        }
    }
}
