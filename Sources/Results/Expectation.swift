/// One value the real kernel was seen to produce for a scenario, as a path into the result and
/// the set of values accepted there (lab-notes.md; where the kernel varied, every value it gave).
///
/// Paths: `workloads.W.attempts`, `workloads.W.outcomes.KEY`, `workloads.W.local_ports`,
/// `workloads.W.local_ports.count`, `workloads.W.ts_offsets`, `workloads.W.rounds.N`, `workloads.W.socket_errors.CLASS`, `snapshots.AT.hosts.H.states.STATE`,
/// `snapshots.AT.hosts.H.listeners.PORT.recv_q|send_q|syn_recv`, `counters.H.NAME`. Absent counts are 0.
public struct Expectation: Sendable, Equatable {
    public var path: String
    public var matcher: Matcher
    /// Where it was written, for messages.
    public var line: Int
    public var column: Int
    /// A known model gap: the value the simulator gives here, which the kernel never did
    /// (`{min, max, model: N}`). The matcher keeps only the kernel's values; the simulator is held
    /// to `model`, so that a change of the model shows, and `compare` reports the key as a
    /// known gap rather than as kernel variation.
    public var model: Int?

    public init(path: String, matcher: Matcher, line: Int = 0, column: Int = 0, model: Int? = nil) {
        self.path = path
        self.matcher = matcher
        self.line = line
        self.column = column
        self.model = model
    }

    /// Which values pass.
    public enum Matcher: Sendable, Equatable, CustomStringConvertible {
        /// Any of these numbers (one number: exactly it).
        case oneOf([Int])
        /// A closed range of numbers.
        case range(min: Int, max: Int)
        /// Exactly this list (for `local_ports`).
        case equals([Int])

        public var description: String {
            switch self {
            case .oneOf(let v) where v.count == 1: return "\(v[0])"
            case .oneOf(let v): return "one of \(v.map(String.init).joined(separator: ", "))"
            case .range(let a, let b) where a == b: return "\(a)"
            case .range(let a, let b): return "\(a)…\(b)"
            case .equals(let v): return "[\(v.map(String.init).joined(separator: ", "))]"
            }
        }
    }

    /// The outcome of checking one expectation.
    public struct Verdict: Sendable, Equatable {
        public var expectation: Expectation
        /// What the result held there, rendered; nil when the path names nothing.
        public var actual: String?
        public var passed: Bool
        /// The simulator was held to the declared model gap (``Expectation/model``), not to the
        /// kernel's values.
        public var knownGap = false
    }

    /// Checks this expectation against a result: the kernel's values, or for the simulator
    /// the declared model gap where there is one.
    public func check(_ result: RunResult) -> Verdict {
        guard let value = result.value(at: path) else {
            return Verdict(expectation: self, actual: nil, passed: false)
        }
        if let model, result.engine == "simulator" {
            return Verdict(
                expectation: self, actual: value.text, passed: value == .number(model), knownGap: true)
        }
        switch (matcher, value) {
        case (.oneOf(let allowed), .number(let n)):
            return Verdict(expectation: self, actual: "\(n)", passed: allowed.contains(n))
        case (.range(let lo, let hi), .number(let n)):
            return Verdict(expectation: self, actual: "\(n)", passed: (lo...hi).contains(n))
        case (.equals(let want), .list(let have)):
            return Verdict(
                expectation: self, actual: "[\(have.map(String.init).joined(separator: ", "))]",
                passed: want == have)
        case (_, .number(let n)):
            return Verdict(expectation: self, actual: "\(n)", passed: false)
        case (_, .list(let l)):
            return Verdict(expectation: self, actual: "\(l)", passed: false)
        }
    }
}

/// A value found at a result path.
public enum ResultValue: Sendable, Equatable {
    case number(Int)
    case list([Int])
}

extension RunResult {
    /// The value at a dotted path (see ``Expectation``); nil when the path names nothing.
    public func value(at path: String) -> ResultValue? {
        let p = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let head = p.first else { return nil }
        switch head {
        case "workloads":
            guard p.count >= 3, let w = workload(p[1]) else { return nil }
            switch (p[2], p.count) {
            case ("attempts", 3): return .number(w.attempts)
            case ("outcomes", 4): return .number(w.count(p[3]))
            case ("local_ports", 3): return .list(w.localPorts)
            case ("local_ports", 4) where p[3] == "count": return .number(w.localPorts.count)
            case ("ts_offsets", 3): return .number(w.timestampOffsets)
            case ("rounds", 4): return .number(w.rounds.first { $0.key == p[3] }?.count ?? 0)
            case ("socket_errors", 4) where WorkloadResult.socketErrorClasses.contains(p[3]):
                return .number(w.socketErrors.first { $0.key == p[3] }?.count ?? 0)
            default: return nil
            }
        case "snapshots":
            // Labels may contain dots ("60.3s"): the label runs up to the "hosts" segment.
            guard let hostsAt = p.indices.dropFirst(2).first(where: { p[$0] == "hosts" }) else { return nil }
            let label = p[1..<hostsAt].joined(separator: ".")
            let p = [p[0], label] + p[hostsAt...]
            guard p.count >= 5, let s = snapshot(p[1]), p[2] == "hosts", let h = s.host(p[3]) else {
                return nil
            }
            if p[4] == "states", p.count == 6 { return .number(h.count(p[5])) }
            if p[4] == "listeners", p.count == 7, let port = Int(p[5]),
                let l = h.listeners.first(where: { $0.port == port })
            {
                switch p[6] {
                case "recv_q": return .number(l.recvQ)
                case "send_q": return .number(l.sendQ)
                case "syn_recv": return .number(l.synRecv)
                default: return nil
                }
            }
            return nil
        case "counters":
            guard p.count == 3, let hc = counters(of: p[1]) else { return nil }
            return .number(hc.value(p[2]))
        default:
            return nil
        }
    }
}
