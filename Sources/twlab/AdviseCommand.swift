import Advisor
import ArgumentParser
import HostInspect
import Report

/// `twlab advise [--netns NAME] [--interval 1s] [--json]`: findings with evidence and advice.
struct AdviseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advise",
        abstract:
            "Advise on a live host or network namespace: findings, evidence, and the simulator's what-if.",
        discussion: """
            Inspects as `twlab inspect` does (two samples --interval apart, for rates and \
            counter deltas; --interval 0 takes one sample and reads counters since boot), then \
            applies rules grounded in kernel-spec: port pressure with tcp_tw_reuse off, \
            tcp_tw_reuse without timestamps, bind() before connect(), tcp_fin_timeout, accept \
            queue overflows, SYN drops with cookies off, tcp_max_tw_buckets overflows, \
            tcp_tw_recycle. Where it recommends a change for port pressure, the simulator \
            replays the observed connection rate under the current and the proposed sysctls. \
            --netns needs root.
            """)

    @Option(help: "Read the network namespace /run/netns/NAME instead of this one.")
    var netns: String?

    @Option(help: "Take two samples this far apart for rates (e.g. 1s, 5s; 0: one sample).")
    var interval: String = "1s"

    @Flag(name: .customLong("no-what-if"), help: "Skip the simulator's what-if runs.")
    var noWhatIf = false

    @Flag(help: "Print design.md's advice JSON and nothing else on stdout.")
    var json = false

    func run() throws {
        let seconds = try intervalSeconds(interval)
        let advice: Advisor.Advice
        do {
            advice = try Advisor.advise(netns: netns, interval: seconds, whatIf: !noWhatIf)
        } catch {
            throw CommandFailure.bad(netns.map { "--netns \($0): \(error.message)" } ?? error.message)
        }
        print(json ? advice.jsonText() : AdviceReport.render(advice), terminator: json ? "\n" : "")
    }
}
