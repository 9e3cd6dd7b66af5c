import Results
import Scenario

extension TerminalReport {
    /// One workload: where it went and how many attempts, a `sort | uniq -c` histogram of the
    /// outcomes, latency, the local ports it used and, for rounds, successes per round.
    static func workloadSection(_ workload: WorkloadResult, spec: WorkloadSpec?) -> [String] {
        let isConnect: Bool
        var title = workload.name
        if let spec {
            if case .connect = spec.kind { isConnect = true } else { isConnect = false }
            title += " (\(spec.kind.name)): \(spec.from) -> \(spec.to.address):\(spec.to.port),"
        } else {
            isConnect = false
            title += ":"
        }
        title += " \(workload.attempts) \(workload.attempts == 1 ? "attempt" : "attempts")"

        var lines = [title]
        lines += histogram(workload.outcomes.map { (outcomeLine($0.key, isConnect: isConnect), $0.count) })
        if let latency = workload.latency {
            lines.append("  latency p50 \(millis(latency.p50)) ms, p99 \(millis(latency.p99)) ms")
        }
        if !workload.localPorts.isEmpty {
            lines.append("  local ports \(portList(workload.localPorts)) (\(workload.localPorts.count))")
        }
        if workload.timestampOffsets > 0 {
            lines.append("  " + timestampOffsetsText(workload.timestampOffsets))
        }
        if !workload.rounds.isEmpty {
            lines.append("  rounds: " + roundsText(workload.rounds, isConnect: isConnect))
        }
        if !workload.socketErrors.isEmpty {
            lines.append("  " + socketErrorsText(workload.socketErrors))
        }
        return lines
    }

    /// "TS offsets 6 distinct": how many timestamp clocks the workload's connections showed
    /// their peer (TS-3): one per 4-tuple on 6.18; one (a single clock) with per-host-pair
    /// offsets (4.11 to 6.17), without offsets (up to 4.9) or with `tcp_timestamps=2`.
    static func timestampOffsetsText(_ n: Int) -> String {
        n == 1 ? "TS offsets 1: every connection on one timestamp clock" : "TS offsets \(n) distinct"
    }

    /// wrk's own line: "Socket errors: connect 0, read 1, write 8, timeout 0".
    static func socketErrorsText(_ errors: [Outcome]) -> String {
        "Socket errors: " + errors.map { "\($0.key) \($0.count)" }.joined(separator: ", ")
    }

    /// How the line for one outcome looks in a shell loop's output: the status code curl prints
    /// for a response, "000" and the errno for a failure, the bare word for `connect` results.
    static func outcomeLine(_ key: String, isConnect: Bool) -> String {
        if key.allSatisfy(\.isASCIIDigitCharacter) || key == "connected" || key == "pending" || key == "sent"
            || isConnect
        {
            return key
        }
        return "000 " + key
    }

    /// `sort | uniq -c`: lines in byte order (`LC_ALL=C sort`), counts right-aligned in 7 columns
    /// and a space, as GNU `uniq -c` prints them.
    static func histogram(_ entries: [(line: String, count: Int)]) -> [String] {
        entries
            .sorted { Array($0.line.utf8).lexicographicallyPrecedes(Array($1.line.utf8)) }
            .map { String($0.count).leftPadded(to: 7) + " " + $0.line }
    }

    /// Ports as a list with contiguous runs of three or more compressed: "1024,1026,1028" or
    /// "1024-1034". Very long lists keep their first and last pieces around an ellipsis.
    static func portList(_ ports: [Int]) -> String {
        var pieces: [String] = []
        var i = 0
        while i < ports.count {
            var j = i
            while j + 1 < ports.count, ports[j + 1] == ports[j] + 1 { j += 1 }
            if j - i >= 2 {
                pieces.append("\(ports[i])-\(ports[j])")
            } else {
                for k in i...j { pieces.append(String(ports[k])) }
            }
            i = j + 1
        }
        let limit = 12
        if pieces.count > limit {
            pieces = Array(pieces.prefix(limit - 2)) + ["…", pieces[pieces.count - 1]]
        }
        return pieces.joined(separator: ",")
    }

    /// "38 × 11 connected, 2 × 10": rounds by how many attempts succeeded in them, the most
    /// frequent first.
    static func roundsText(_ rounds: [Outcome], isConnect: Bool) -> String {
        let ordered = rounds.sorted {
            if $0.count != $1.count { return $0.count > $1.count }
            return (Int($0.key) ?? 0) > (Int($1.key) ?? 0)
        }
        let noun = isConnect ? "connected" : "succeeded"
        return ordered.enumerated()
            .map { i, r in "\(r.count) × \(r.key)" + (i == 0 ? " \(noun)" : "") }
            .joined(separator: ", ")
    }

    /// Milliseconds with about three significant digits, never in exponent form.
    static func millis(_ v: Double) -> String {
        let magnitude = abs(v)
        let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 0.1 || v == 0 ? 2 : 3
        return fixed(v, decimals: decimals)
    }
}
