import Results

/// One scenario run on every kernel profile (`twlab run NAME --kernel all`), as one table: a
/// row per profile, a column per workload's outcomes, then every end-snapshot state count and
/// counter that differs between the profiles. What stayed the same on every kernel is listed
/// once under the table, so the table shows only what the version changes.
public enum KernelSweepReport {
    /// A profile's row: its result, or why the scenario cannot run there (e.g. a sysctl the
    /// version does not have).
    public struct Row: Sendable {
        public var kernel: String
        public var outcome: Result<RunResult, SweepError>
        public init(kernel: String, outcome: Result<RunResult, SweepError>) {
            self.kernel = kernel
            self.outcome = outcome
        }
    }

    /// Why a profile's row has no result.
    public struct SweepError: Error, Sendable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }

    public static func render(scenario: String, rows: [Row]) -> String {
        var out = "\(scenario) on every kernel profile (simulator)\n\n"
        let results = rows.compactMap { try? $0.outcome.get() }
        let workloads = results.first?.workloads.map(\.name) ?? []
        // Columns beyond the outcomes: values that vary between profiles.
        var keys: [String] = []
        var constant: [(String, String)] = []
        let all = results.map { Self.values(of: $0) }
        for key in orderedKeys(results) {
            let values = all.map { $0[key] ?? "0" }
            if Set(values).count > 1 {
                keys.append(key)
            } else if let v = values.first {
                constant.append((key, v))
            }
        }
        var grid: [[String]] = [["kernel"] + workloads + keys]
        for row in rows {
            switch row.outcome {
            case .success(let r):
                let v = Self.values(of: r)
                grid.append(
                    [row.kernel] + r.workloads.map(outcomeText) + keys.map { v[$0] ?? "0" })
            case .failure:
                grid.append([row.kernel, "not run (below)"])
            }
        }
        for line in table(grid) { out += "  " + line + "\n" }
        let notRun = rows.compactMap { row -> String? in
            guard case .failure(let e) = row.outcome else { return nil }
            return "  \(row.kernel): \(e.message)\n"
        }
        if !notRun.isEmpty { out += "\nnot run:\n" + notRun.joined() }
        if !constant.isEmpty {
            out += "\nthe same on every profile that ran:\n"
            for (k, v) in constant { out += "  \(k) \(v)\n" }
        }
        return out
    }

    /// Whether the profiles that ran disagree on any outcome, end state or counter.
    public static func isProfileSensitive(_ rows: [Row]) -> Bool {
        let results = rows.compactMap { try? $0.outcome.get() }
        let outcomes = Set(results.map { $0.workloads.map(outcomeText) })
        let ends = Set(results.map { Self.values(of: $0) })
        return outcomes.count > 1 || ends.count > 1
    }

    /// "11 404, 9 EADDRNOTAVAIL": the outcome histogram on one line, most frequent first.
    static func outcomeText(_ w: WorkloadResult) -> String {
        let sorted = w.outcomes.sorted { a, b in a.count != b.count ? a.count > b.count : a.key < b.key }
        return sorted.map { o in "\(o.count) \(o.key)" }.joined(separator: ", ")
    }

    /// End-snapshot states ("server TIME-WAIT") and counters ("server TcpExtTW") of a result.
    static func values(of r: RunResult) -> [String: String] {
        var v: [String: String] = [:]
        if let snap = r.snapshots.last {
            for h in snap.hosts {
                for s in h.states where s.key != "LISTEN" { v["\(h.host) \(s.key)"] = String(s.count) }
            }
        }
        for h in r.counters {
            for c in h.values { v["\(h.host) \(c.key)"] = String(c.count) }
        }
        return v
    }

    /// Keys in a stable order: states before counters, hosts in scenario order.
    static func orderedKeys(_ results: [RunResult]) -> [String] {
        var seen = Set<String>()
        var states: [String] = []
        var counters: [String] = []
        for r in results {
            for h in r.snapshots.last?.hosts ?? [] {
                for s in h.states where s.key != "LISTEN" {
                    let k = "\(h.host) \(s.key)"
                    if seen.insert(k).inserted { states.append(k) }
                }
            }
            for h in r.counters {
                for c in h.values {
                    let k = "\(h.host) \(c.key)"
                    if seen.insert(k).inserted { counters.append(k) }
                }
            }
        }
        return states + counters
    }
}
