/// The two engines' results for one scenario, key by key (design.md `twlab compare`).
///
/// Every key either result has is listed. A key *differs* when its values are not equal, unless
/// the scenario declares what the kernel may give there (an expectation, e.g. 10 or 11 ports)
/// and both values are inside it: then it is *tolerated*. Keys outside the compared set (most
/// counters, local ports) are shown for information and never fail a comparison.
public struct Comparison: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// Equal values.
        case same
        /// Different values, both within the scenario's declared tolerance.
        case tolerated
        /// The simulator gives the scenario's declared model gap (``Expectation/model``) and the
        /// kernel one of its own values: a known disagreement, shown, not failing.
        case knownGap
        /// A difference that fails the comparison.
        case differs
        /// Shown, not compared.
        case informational
    }

    public struct Row: Sendable, Equatable {
        public var key: String
        public var simulator: String
        public var kernel: String
        public var verdict: Verdict
    }

    public var rows: [Row]

    /// Rows that fail the comparison.
    public var differences: [Row] { rows.filter { $0.verdict == .differs } }

    /// Counters compared by default: the ones the seed experiments read. Others are shown only.
    public static let comparedCounters: Set<String> = [
        "TcpActiveOpens", "TcpPassiveOpens", "TcpExtTW", "TcpExtTWRecycled", "TcpExtTCPTimeWaitOverflow",
        "TcpExtTCPAbortOnData", "TcpExtTCPAbortOnClose", "TcpExtListenOverflows", "TcpExtListenDrops",
        "TcpExtTCPReqQFullDrop", "TcpExtTCPReqQFullDoCookies", "TcpExtSyncookiesSent", "TcpExtPAWSTimewait",
    ]

    public init(simulator sim: RunResult, kernel: RunResult, expectations: [Expectation]) {
        var keys: [(String, Bool)] = []  // (path, compared)
        var seen = Set<String>()
        func add(_ k: String, _ compared: Bool) {
            if seen.insert(k).inserted { keys.append((k, compared)) }
        }
        let expected = Dictionary(expectations.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        for r in [sim, kernel] {
            for w in r.workloads {
                add("workloads.\(w.name).attempts", true)
                for o in w.outcomes { add("workloads.\(w.name).outcomes.\(o.key)", true) }
                for o in w.rounds { add("workloads.\(w.name).rounds.\(o.key)", true) }
                for o in w.socketErrors { add("workloads.\(w.name).socket_errors.\(o.key)", true) }
                // Both depend on how many 4-tuples a run used (EP-4's parity, TS-3's offsets):
                // compared where the scenario says what the kernel may give.
                let ports = "workloads.\(w.name).local_ports.count"
                add(ports, expected[ports] != nil)
                let offsets = "workloads.\(w.name).ts_offsets"
                if w.timestampOffsets > 0 || expected[offsets] != nil {
                    add(offsets, expected[offsets] != nil)
                }
            }
        }
        for r in [sim, kernel] {
            for s in r.snapshots {
                for h in s.hosts {
                    for st in h.states { add("snapshots.\(s.at).hosts.\(h.host).states.\(st.key)", true) }
                    for l in h.listeners {
                        add("snapshots.\(s.at).hosts.\(h.host).listeners.\(l.port).recv_q", true)
                        add("snapshots.\(s.at).hosts.\(h.host).listeners.\(l.port).send_q", true)
                        add("snapshots.\(s.at).hosts.\(h.host).listeners.\(l.port).syn_recv", true)
                    }
                }
            }
        }
        for r in [sim, kernel] {
            for hc in r.counters {
                for v in hc.values {
                    let k = "counters.\(hc.host).\(v.key)"
                    add(k, Comparison.comparedCounters.contains(v.key) || expected[k] != nil)
                }
            }
        }
        for e in expectations where e.path.hasSuffix(".local_ports") { add(e.path, true) }

        rows = keys.map { key, compared in
            let a = sim.value(at: key)
            let b = kernel.value(at: key)
            let verdict: Verdict
            if !compared {
                verdict = .informational
            } else if a == b {
                verdict = .same
            } else if let e = expected[key], let model = e.model, a == .number(model), e.accepts(b) {
                verdict = .knownGap
            } else if let e = expected[key], e.model == nil, e.accepts(a), e.accepts(b) {
                verdict = .tolerated
            } else {
                verdict = .differs
            }
            return Row(key: key, simulator: a?.text ?? "-", kernel: b?.text ?? "-", verdict: verdict)
        }
    }
}

extension ResultValue {
    /// `17`, or `[1024,1026]` for a list.
    public var text: String {
        switch self {
        case .number(let n): return String(n)
        case .list(let l): return "[" + l.map(String.init).joined(separator: ",") + "]"
        }
    }
}

extension Expectation {
    /// Whether a value (nil: the path names nothing) is one the kernel may give here.
    func accepts(_ v: ResultValue?) -> Bool {
        switch (matcher, v) {
        case (.oneOf(let set), .number(let n)?): return set.contains(n)
        case (.range(let lo, let hi), .number(let n)?): return (lo...hi).contains(n)
        case (.equals(let want), .list(let have)?): return want == have
        default: return false
        }
    }
}

extension Comparison {
    /// Compares `simulator` with up to `runs` kernel results, one `kernel()` call at a time, until
    /// one agrees (no key differs). `each` sees every run's result and comparison, numbered from
    /// 1, as it comes, so that none is hidden. Returns the number of the run that agreed, or nil
    /// when every run disagreed.
    ///
    /// The kernel is sampled once per run; a scenario whose kernel distribution is long-tailed
    /// can land outside its declared variation now and then, while a model that is wrong
    /// disagrees on every run.
    public static func firstAgreement(
        simulator: RunResult, expectations: [Expectation], runs: Int,
        kernel: () throws -> RunResult, each: (Int, RunResult, Comparison) throws -> Void
    ) throws -> Int? {
        for run in 1...max(runs, 1) {
            let result = try kernel()
            let comparison = Comparison(simulator: simulator, kernel: result, expectations: expectations)
            try each(run, result, comparison)
            if comparison.differences.isEmpty { return run }
        }
        return nil
    }
}
