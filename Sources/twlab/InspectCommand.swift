import ArgumentParser
import HostInspect
import Report

/// `twlab inspect [--netns NAME] [--interval 5s] [--json]`: a live host or namespace.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Inspect a live host or network namespace: states, port pressure, queues, counters.",
        discussion: """
            Reads the sockets by netlink sock_diag (the /proc/net/tcp files if that fails), the \
            counters from /proc/net/netstat and /proc/net/snmp, /proc/net/sockstat and the \
            sysctls. With --interval it takes two samples that far apart and adds rates, counter \
            deltas and the time until connect() runs out of ports for each destination. \
            --netns needs root.
            """)

    @Option(help: "Read the network namespace /run/netns/NAME instead of this one.")
    var netns: String?

    @Option(help: "Take two samples this far apart for rates (e.g. 5s, 500ms; 0: one sample).")
    var interval: String = "0"

    @Option(help: "Show at most this many destinations, riskiest first (0: all).")
    var top: Int = 20

    @Flag(help: "Print design.md's inspection JSON and nothing else on stdout.")
    var json = false

    func run() throws {
        let seconds = try intervalSeconds(interval)
        guard top >= 0 else { throw CommandFailure.bad("--top \(top): must be 0 (all) or more") }
        let inspection: Inspection
        do {
            inspection = try Inspector.inspect(netns: netns, interval: seconds, top: top == 0 ? nil : top)
        } catch {
            throw CommandFailure.bad(netns.map { "--netns \($0): \(error.message)" } ?? error.message)
        }
        print(
            json ? inspection.jsonText() : InspectionReport.render(inspection), terminator: json ? "\n" : "")
    }
}

/// `--interval TEXT` in seconds (``Inspector/parseInterval(_:)``), or a one-line usage error.
func intervalSeconds(_ text: String) throws -> Double {
    switch Inspector.parseInterval(text) {
    case .success(let value): return value
    case .failure(let error): throw CommandFailure.bad("--interval \(error.message)")
    }
}
