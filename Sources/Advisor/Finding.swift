/// One piece of advice: what was seen, why it matters, what to change, and (where the model can
/// answer it) what the change would do.
public struct Finding: Sendable, Equatable {
    /// How urgent: `critical` when connections fail or will soon, `warning` when the numbers say
    /// they can, `info` for a setting that does not do what it is usually believed to do.
    public enum Severity: String, Sendable, Equatable, Comparable {
        case critical, warning, info

        var rank: Int {
            switch self {
            case .critical: 0
            case .warning: 1
            case .info: 2
            }
        }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    /// Stable rule name, e.g. `port-pressure-tw-reuse-off`.
    public var id: String
    public var severity: Severity
    /// One line: what is wrong.
    public var title: String
    /// The observations behind it, one per line, with their numbers.
    public var evidence: [String]
    /// What to change, citing the kernel-spec rule that says why.
    public var recommendation: String
    /// The simulator's answer for the current and the recommended settings, when there is one.
    public var whatIf: WhatIf?

    public init(
        id: String, severity: Severity, title: String, evidence: [String], recommendation: String,
        whatIf: WhatIf? = nil
    ) {
        self.id = id
        self.severity = severity
        self.title = title
        self.evidence = evidence
        self.recommendation = recommendation
        self.whatIf = whatIf
    }
}

/// The observed connection mix replayed through the simulator twice: under the host's current
/// sysctls and under the recommended ones.
public struct WhatIf: Sendable, Equatable {
    /// What was replayed, e.g. "10.0.0.1 -> 10.0.0.5:80, 466/s open loop for 120 s".
    public var workload: String
    public var current: Prediction
    public var proposed: Prediction

    public init(workload: String, current: Prediction, proposed: Prediction) {
        self.workload = workload
        self.current = current
        self.proposed = proposed
    }
}

/// What the simulator predicts for one set of sysctls.
public struct Prediction: Sendable, Equatable {
    /// The sysctls that differ between the two runs, with this run's values.
    public var sysctls: [String: String]
    public var attempts: Int
    /// Outcome key (`404` for an answered request, `EADDRNOTAVAIL`, ...) -> count.
    public var outcomes: [String: Int]
    /// Seconds into the run of the first `EADDRNOTAVAIL` (to the sampling step, 1 s); nil when
    /// none.
    public var firstFailureSeconds: Double?
    /// The most ports held toward the destination at any sample (connected + TIME-WAIT).
    public var peakPortsHeld: Int
    /// Client TIME-WAIT sockets at the end of the run.
    public var timeWaitAtEnd: Int

    public init(
        sysctls: [String: String], attempts: Int, outcomes: [String: Int], firstFailureSeconds: Double?,
        peakPortsHeld: Int, timeWaitAtEnd: Int
    ) {
        self.sysctls = sysctls
        self.attempts = attempts
        self.outcomes = outcomes
        self.firstFailureSeconds = firstFailureSeconds
        self.peakPortsHeld = peakPortsHeld
        self.timeWaitAtEnd = timeWaitAtEnd
    }

    /// `EADDRNOTAVAIL` count.
    public var portFailures: Int { outcomes["EADDRNOTAVAIL"] ?? 0 }

    /// "EADDRNOTAVAIL 9,130 of 14,400, from 30 s" or "no EADDRNOTAVAIL (peak 7,200 ports held)".
    public var summary: String {
        guard portFailures > 0 else {
            return
                "no EADDRNOTAVAIL in \(grouped(attempts)) connects (peak \(grouped(peakPortsHeld)) ports held)"
        }
        let from = firstFailureSeconds.map { ", from \(Int($0.rounded())) s" } ?? ""
        return "EADDRNOTAVAIL for \(grouped(portFailures)) of \(grouped(attempts)) connects\(from)"
    }
}

/// 28232 -> "28,232".
func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return n < 0 ? "-" + out : out
}
