import Results
import Scenario

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
        /// The scenario as loaded for this profile (its sysctls are the profile's defaults where
        /// the file sets none): the HTML page draws its port range and listen queue limits.
        public var scenario: Scenario?
        public init(kernel: String, outcome: Result<RunResult, SweepError>, scenario: Scenario? = nil) {
            self.kernel = kernel
            self.outcome = outcome
            self.scenario = scenario
        }
    }

    /// Why a profile's row has no result.
    public struct SweepError: Error, Sendable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }

    public static func render(scenario: String, rows: [Row]) -> String {
        var out = "\(scenario) on every kernel profile (simulator)\n\n"
        let columns = Columns(rows)
        var grid: [[String]] = [["kernel"] + columns.workloads + columns.varying]
        for row in rows {
            switch row.outcome {
            case .success(let r): grid.append([row.kernel] + columns.cells(r))
            case .failure: grid.append([row.kernel, "not run (below)"])
            }
        }
        for line in table(grid) { out += "  " + line + "\n" }
        let notRun = rows.compactMap { row -> String? in
            guard case .failure(let e) = row.outcome else { return nil }
            return "  \(row.kernel): \(e.message)\n"
        }
        if !notRun.isEmpty { out += "\nnot run:\n" + notRun.joined() }
        if !columns.constant.isEmpty {
            out += "\nthe same on every profile that ran:\n"
            for c in columns.constant { out += "  \(c.key) \(c.value)\n" }
        }
        return out
    }

    /// The columns of a sweep's table, for the terminal and the HTML page alike: each
    /// workload's outcomes, then the end-snapshot states and counters whose value differs
    /// between the profiles that ran. The keys whose value is the same on all of them are
    /// listed once, with that value.
    public struct Columns: Sendable, Equatable {
        /// A key that does not vary, and its value on every profile that ran.
        public struct Constant: Sendable, Equatable {
            public var key: String
            public var value: String
        }

        /// The workloads, in scenario order (one outcome column each).
        public var workloads: [String]
        /// "server TIME-WAIT", "server TcpExtTW": states before counters, hosts in scenario order.
        public var varying: [String]
        public var constant: [Constant]

        /// - Complexity: O(p·k) for p profiles and k keys.
        public init(_ rows: [Row]) {
            let results = rows.compactMap { try? $0.outcome.get() }
            workloads = results.first?.workloads.map(\.name) ?? []
            varying = []
            constant = []
            let all = results.map { KernelSweepReport.values(of: $0) }
            for key in KernelSweepReport.orderedKeys(results) {
                let values = all.map { $0[key] ?? "0" }
                if Set(values).count > 1 {
                    varying.append(key)
                } else if let v = values.first {
                    constant.append(Constant(key: key, value: v))
                }
            }
        }

        /// A profile's cells after its kernel: the outcomes of each workload ("11 404, 9
        /// EADDRNOTAVAIL"), then the value of each varying key ("0" when absent).
        public func cells(_ r: RunResult) -> [String] {
            let v = KernelSweepReport.values(of: r)
            return r.workloads.map(KernelSweepReport.outcomeText) + varying.map { v[$0] ?? "0" }
        }
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

    /// Each workload's timestamp offsets ("c1 TS offsets", TS-3: they change with the version),
    /// end-snapshot states ("server TIME-WAIT") and counters ("server TcpExtTW") of a result.
    static func values(of r: RunResult) -> [String: String] {
        var v: [String: String] = [:]
        for w in r.workloads where w.timestampOffsets > 0 {
            v["\(w.name) \(timestampOffsetsKey)"] = String(w.timestampOffsets)
        }
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

    static let timestampOffsetsKey = "TS offsets"

    /// Keys in a stable order: workloads' TS offsets, then states, then counters; workloads
    /// and hosts in scenario order.
    static func orderedKeys(_ results: [RunResult]) -> [String] {
        var seen = Set<String>()
        var offsets: [String] = []
        var states: [String] = []
        var counters: [String] = []
        for r in results {
            for w in r.workloads where w.timestampOffsets > 0 {
                let k = "\(w.name) \(timestampOffsetsKey)"
                if seen.insert(k).inserted { offsets.append(k) }
            }
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
        return offsets + states + counters
    }
}
