import Advisor
import HostInspect

/// Renders ``Advisor/Advice`` for a terminal: one block per finding, most severe first, with its
/// evidence, the recommendation, and the simulator's what-if as two lines, current and proposed.
public enum AdviceReport {
    /// Lines never end in spaces; the text ends with a newline. Long lines are wrapped at
    /// `width` columns (the recommendation) with a hanging indent.
    public static func render(_ advice: Advisor.Advice, width: Int = 100) -> String {
        let i = advice.inspection
        let place = i.netns.map { "network namespace \($0)" } ?? "this network namespace"
        let kernel = i.kernelRelease.isEmpty ? "kernel unknown" : "Linux \(i.kernelRelease)"
        let sampling = i.intervalSeconds > 0 ? "over \(seconds(i.intervalSeconds))" : "from 1 sample"
        var lines = ["twlab advise: \(place), \(kernel), \(sampling)"]
        let counts = Dictionary(grouping: advice.findings, by: \.severity).mapValues(\.count)
        if advice.findings.isEmpty {
            lines.append("no findings: no rule of twlab's applies to what this namespace shows now")
        } else {
            let parts = [Finding.Severity.critical, .warning, .info].compactMap { s in
                counts[s].map { "\($0) \(s.rawValue)" }
            }
            lines.append(
                "\(advice.findings.count) finding\(advice.findings.count == 1 ? "" : "s"): \(parts.joined(separator: ", "))"
            )
        }
        for f in advice.findings {
            lines.append("")
            lines.append("[\(f.severity.rawValue)] \(f.id): \(f.title)")
            for e in f.evidence { lines += wrap("  - ", e, width: width, indent: "    ") }
            lines += wrap("  do: ", f.recommendation, width: width, indent: "      ")
            if let w = f.whatIf {
                lines += wrap(
                    "  what-if: ", "the simulator replays \(w.workload):", width: width, indent: "    ")
                lines += wrap("    now:      ", describe(w.current), width: width, indent: "              ")
                lines += wrap("    proposed: ", describe(w.proposed), width: width, indent: "              ")
            }
        }
        return lines.map { $0.trimmingTrailingSpaces() }.joined(separator: "\n") + "\n"
    }

    /// "tcp_tw_reuse=0: EADDRNOTAVAIL for 9,130 of 14,400 connects, from 30 s; 7,200 TIME-WAIT at the end".
    static func describe(_ p: Prediction) -> String {
        let settings = p.sysctls.sorted { $0.key < $1.key }.map { "\(short($0.key))=\($0.value)" }
            .joined(separator: ", ")
        return "\(settings): \(p.summary); \(p.timeWaitAtEnd) TIME-WAIT at the end"
    }

    /// "net.ipv4.tcp_tw_reuse" -> "tcp_tw_reuse" ("peer net.ipv4.x" -> "peer x").
    static func short(_ name: String) -> String {
        name.replacingOccurrences(of: "net.ipv4.", with: "").replacingOccurrences(of: "net.core.", with: "")
    }

    static func seconds(_ s: Double) -> String {
        let t = (s * 10).rounded() / 10
        return (t == t.rounded() ? String(Int(t)) : String(t)) + " s"
    }

    /// `prefix` then `body`, greedily wrapped at `width` columns with `indent` on the following
    /// lines; words longer than the width stay whole.
    static func wrap(_ prefix: String, _ body: String, width: Int, indent: String) -> [String] {
        var lines: [String] = []
        var line = prefix
        var fresh = true
        for word in body.split(separator: " ") {
            if fresh {
                line += word
                fresh = false
            } else if line.count + 1 + word.count > width {
                lines.append(line)
                line = indent + word
            } else {
                line += " " + word
            }
        }
        lines.append(line)
        return lines
    }
}
