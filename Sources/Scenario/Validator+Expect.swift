import LinuxTCP
import Results

/// The `expect:` block (extension of design.md): `PATH: MATCHER`, checked against the scenario
/// so that a typo in a path is an error now, not a failed check later.
extension Validator {
    func expectations(_ node: YNode, hosts: [HostSpec], workloads: [WorkloadSpec], observe: [ObservePoint])
        throws(ScenarioError) -> [Expectation]
    {
        let f = try fields(node, "expect", context: "expect", shape: "a map of result paths to values")
        var out: [Expectation] = []
        for e in f.entries {
            let matcher = try self.matcher(e.value, path: e.name)
            let path = try checkPath(
                e.name, at: e.key, matcher: matcher, hosts: hosts, workloads: workloads, observe: observe)
            out.append(
                Expectation(
                    path: path, matcher: matcher, line: e.key.line, column: e.key.column,
                    model: try modelGap(e.value, path: e.name, matcher: matcher)))
        }
        return out
    }

    /// `model: N` in a `{min, max}` map: a known model gap (``Expectation/model``). It must lie
    /// outside the kernel's values, or it is no gap.
    func modelGap(_ node: YNode, path: String, matcher: Expectation.Matcher) throws(ScenarioError) -> Int? {
        guard case .map = node.value else { return nil }
        let label = "expect: \(path)"
        let m = try fields(node, label, context: label, shape: "a map")
        guard let modelNode = m.value("model") else { return nil }
        let model = try int(modelNode, m.label("model"))
        guard case .range(let lo, let hi) = matcher, !(lo...hi).contains(model) else {
            throw fail(
                modelNode,
                "\(label): model \(model) is among the kernel's values \(matcher): a model gap lies outside them"
            )
        }
        return model
    }

    /// `20`, `[10, 11]`, `{min: 14, max: 21}` or `{equals: [1024, 1026]}`; `{min, max}` may add
    /// `model: N` (``modelGap(_:path:matcher:)``).
    func matcher(_ node: YNode, path: String) throws(ScenarioError) -> Expectation.Matcher {
        let label = "expect: \(path)"
        let shape = "a number, a list of numbers, {min: A, max: B} or {equals: [A, B, ...]}"
        switch node.value {
        case .scalar where !node.isNull:
            return .oneOf([try int(node, label)])
        case .list(let items):
            guard !items.isEmpty else { throw fail(node, "\(label): the list of accepted values is empty") }
            var values: [Int] = []
            for item in items { values.append(try int(item, label)) }
            return .oneOf(values)
        case .map:
            let m = try fields(node, label, context: label, shape: shape)
            try checkKeys(m, allowed: ["min", "max", "equals", "model"], in: label)
            if let eq = m.value("equals") {
                guard m.entries.count == 1 else {
                    throw fail(node, "\(label): equals cannot be combined with min, max or model")
                }
                var values: [Int] = []
                for item in try list(eq, m.label("equals"), shape: "a list of numbers") {
                    values.append(try int(item, m.label("equals")))
                }
                return .equals(values)
            }
            let lo = try int(try required(m, "min", label), m.label("min"))
            let hiNode = try required(m, "max", label)
            let hi = try int(hiNode, m.label("max"))
            guard lo <= hi else { throw fail(hiNode, "\(label): min \(lo) is above max \(hi)") }
            return .range(min: lo, max: hi)
        default:
            throw fail(node, "\(label): expected \(shape), got \(node.shortDescription)")
        }
    }

    /// Checks a result path (see ``Expectation``) against the scenario's names; returns it with
    /// the snapshot label in the form results use (`at: 60300ms` is labelled `60.3s`).
    func checkPath(
        _ path: String, at key: YNode, matcher: Expectation.Matcher, hosts: [HostSpec],
        workloads: [WorkloadSpec],
        observe: [ObservePoint]
    ) throws(ScenarioError) -> String {
        let p = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let isList = if case .equals = matcher { true } else { false }
        func bad(_ why: String) -> ScenarioError { fail(key, "expect: \(quoted(path)): \(why)") }
        func host(_ name: String) throws(ScenarioError) -> HostSpec {
            guard let h = hosts.first(where: { $0.name == name }) else {
                throw bad("no host is called \(quoted(name)) (hosts: \(hostList(hosts)))")
            }
            return h
        }
        func numeric() throws(ScenarioError) {
            if isList { throw bad("{equals: [...]} only fits workloads.W.local_ports, a list") }
        }

        switch p[0] {
        case "workloads":
            let forms =
                "expected workloads.W.attempts, .outcomes.KEY, .local_ports, .local_ports.count, .ts_offsets, .rounds.N or .socket_errors.CLASS"
            guard p.count >= 3 else { throw bad(forms) }
            guard let w = workloads.first(where: { $0.name == p[1] }) else {
                throw bad(
                    "no workload is called \(quoted(p[1])) (workloads: \(workloads.map(\.name).joined(separator: ", ")))"
                )
            }
            switch (p[2], p.count) {
            case ("attempts", 3):
                try numeric()
            case ("outcomes", 4):
                try numeric()
                let k = p[3]
                let isStatus = k.count == 3 && Int(k).map { (100...599).contains($0) } == true
                let isErrno =
                    k.count > 1 && k.first == "E"
                    && k.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }
                guard isStatus || isErrno || k == "pending" || k == "connected" || k == "sent" else {
                    throw bad(
                        "outcome \(quoted(k)) is not an HTTP status (404), an errno name (EADDRNOTAVAIL), connected, sent or pending"
                    )
                }
            case ("local_ports", 3):
                guard isList else {
                    throw bad("local_ports is a list: write {equals: [...]}, or use local_ports.count")
                }
            case ("local_ports", 4) where p[3] == "count":
                try numeric()
            case ("ts_offsets", 3):
                try numeric()
            case ("rounds", 4):
                try numeric()
                guard case .connect = w.kind else { throw bad("rounds exist only for connect workloads") }
                guard let n = Int(p[3]), n >= 0, String(n) == p[3] else {
                    throw bad("\(quoted(p[3])) is not a number of successes per round")
                }
            case ("socket_errors", 4):
                try numeric()
                guard case .wrk = w.kind else { throw bad("socket_errors exist only for wrk workloads") }
                guard ["connect", "read", "write", "timeout"].contains(p[3]) else {
                    throw bad(
                        "\(quoted(p[3])) is not one of wrk's error classes: connect, read, write, timeout")
                }
            default:
                throw bad(forms)
            }
            return path

        case "snapshots":
            let forms =
                "expected snapshots.AT.hosts.H.states.STATE or snapshots.AT.hosts.H.listeners.PORT.recv_q|send_q|syn_recv"
            // The label may hold dots (60.3s), so it runs up to the first "hosts" after it.
            guard p.count >= 3, let hi = p.indices.dropFirst(2).first(where: { p[$0] == "hosts" }) else {
                throw bad(forms)
            }
            let at = p[1..<hi].joined(separator: ".")
            let labels = observe.map(\.label)
            var label = at
            if !labels.contains(at) {
                if case .success(let t) = Durations.parse(at), observe.contains(.at(t)) {
                    label = ObservePoint.at(t).label
                } else {
                    let list = labels.isEmpty ? "none" : labels.joined(separator: ", ")
                    throw bad("no snapshot \(quoted(at)) (observe gives: \(list))")
                }
            }
            let tail = Array(p[(hi + 1)...])
            guard !tail.isEmpty else { throw bad(forms) }
            let h = try host(tail[0])
            try numeric()
            switch (tail.count, tail.count > 1 ? tail[1] : "") {
            case (3, "states"):
                guard ssStateOrder.contains(tail[2]) else {
                    throw bad(
                        "\(quoted(tail[2])) is not an ss state (\(ssStateOrder.joined(separator: ", ")))")
                }
            case (4, "listeners"):
                guard let port = Int(tail[2]), h.listeners.contains(where: { Int($0.port) == port }) else {
                    let ports = h.listeners.map { String($0.port) }.joined(separator: ", ")
                    throw bad(
                        "host '\(h.name)' has no listener on \(quoted(tail[2])) (listeners: \(ports.isEmpty ? "none" : ports))"
                    )
                }
                guard ["recv_q", "send_q", "syn_recv"].contains(tail[3]) else {
                    throw bad("expected recv_q, send_q or syn_recv after the port")
                }
            default:
                throw bad(forms)
            }
            return (["snapshots", label, "hosts"] + tail).joined(separator: ".")

        case "counters":
            guard p.count == 3 else {
                throw bad("expected counters.HOST.NAME (nstat names, e.g. TcpExtTWRecycled)")
            }
            _ = try host(p[1])
            try numeric()
            guard let f = p[2].first, f.isASCII, f.isLetter,
                p[2].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
            else {
                throw bad("\(quoted(p[2])) is not an nstat counter name like TcpExtTWRecycled")
            }
            return path

        default:
            throw bad("a path starts with workloads., snapshots. or counters.")
        }
    }
}
