import LinuxTCP
import Results

/// Walks a composed YAML tree and builds a ``Scenario``, checking every key and value.
///
/// Messages name the place in words as well ("in workload 'burst'"), because a `--set` value has
/// no line of its own.
struct Validator {
    let file: String
    var readsExpectations = true

    static let topKeys = [
        "twlab", "name", "description", "kernel", "seed", "duration", "network", "hosts", "workloads",
        "observe", "sample_every", "expect",
    ]
    static let hostKeys = ["address", "addresses", "uptime", "sysctl", "listen", "nat"]
    static let listenerKeys = ["port", "backlog", "http", "accept"]
    static let workloadKeys = ["name", "from", "to", "kind", "start", "after"]
    static let kindKeys: [(kind: String, keys: [String])] = [
        ("curl", ["count", "interval", "http", "header", "close", "timeout", "startup", "reuse_connection"]),
        (
            "connect",
            [
                "count", "concurrency", "hold", "close", "bind", "fill", "rounds", "interval", "timeout",
                "spacing", "request",
            ]
        ),
        ("rate", ["rate", "duration", "http", "header", "close", "timeout"]),
        ("wrk", ["connections", "duration", "requests", "http", "header", "close", "timeout", "spacing"]),
        ("synflood", ["count", "rate", "duration"]),
    ]

    // MARK: - Errors

    /// An error at `node`; nodes made by `--set` are reported against that argument.
    func fail(_ node: YNode, _ message: String) -> ScenarioError {
        let msg = oneLine(message)
        if let origin = node.origin {
            return ScenarioError(file: Overrides.file, message: "\(quoted(origin)): \(msg)")
        }
        return ScenarioError(file: file, line: node.line, column: node.column, message: msg)
    }

    // MARK: - Maps and lists

    /// The keys of one YAML map, in file order.
    struct Fields {
        let node: YNode
        /// How messages name this map: "workload 'burst'", "host 'client'"; "" at the top.
        let context: String
        var entries: [(name: String, key: YNode, value: YNode)]

        func value(_ name: String) -> YNode? { entries.first { $0.name == name }?.value }
        func key(_ name: String) -> YNode? { entries.first { $0.name == name }?.key }
        func label(_ key: String) -> String { context.isEmpty ? key : "\(context): \(key)" }
    }

    /// Reads a map; null reads as an empty map. `what` names the value in "expected a map".
    func fields(_ node: YNode, _ what: String, context: String, shape: String = "a map") throws(ScenarioError)
        -> Fields
    {
        if node.isNull { return Fields(node: node, context: context, entries: []) }
        guard case .map(let pairs) = node.value else {
            throw fail(node, "\(what): expected \(shape), got \(node.shortDescription)")
        }
        var entries: [(name: String, key: YNode, value: YNode)] = []
        for (k, v) in pairs {
            guard let name = k.scalar else {
                throw fail(k, "\(what): a key must be a name, not \(k.shortDescription)")
            }
            entries.append((name, k, v))
        }
        return Fields(node: node, context: context, entries: entries)
    }

    /// Rejects keys outside `allowed`, listing what is allowed.
    func checkKeys(_ f: Fields, allowed: [String], in where_: String) throws(ScenarioError) {
        for e in f.entries where !allowed.contains(e.name) {
            throw fail(
                e.key,
                "unknown key \(quoted(e.name)) in \(where_) (expected one of: \(allowed.joined(separator: ", ")))"
            )
        }
    }

    func required(_ f: Fields, _ key: String, _ whose: String, hint: String = "") throws(ScenarioError)
        -> YNode
    {
        guard let v = f.value(key) else {
            throw fail(
                f.node, "\(whose) is missing required key \(quoted(key))\(hint.isEmpty ? "" : " (\(hint))")")
        }
        return v
    }

    /// Reads a list; null reads as an empty list.
    func list(_ node: YNode, _ label: String, shape: String = "a list") throws(ScenarioError) -> [YNode] {
        if node.isNull { return [] }
        guard case .list(let items) = node.value else {
            throw fail(node, "\(label): expected \(shape), got \(node.shortDescription)")
        }
        return items
    }

    // MARK: - Scalars

    func string(_ node: YNode, _ label: String) throws(ScenarioError) -> String {
        guard let s = node.scalar, !node.isNull else {
            throw fail(node, "\(label): expected a string, got \(node.shortDescription)")
        }
        return s
    }

    /// An integer in `range`: digits with an optional sign, `_` allowed between digits.
    func int(_ node: YNode, _ label: String, _ range: ClosedRange<Int> = Int.min...Int.max)
        throws(ScenarioError) -> Int
    {
        guard let s = node.scalar, !node.isNull, let v = parseInt(s) else {
            throw fail(node, "\(label): expected \(describe(range)), got \(node.shortDescription)")
        }
        guard range.contains(v) else {
            if range.upperBound == Int.max {
                throw fail(node, "\(label): expected an integer >= \(range.lowerBound), got \(v)")
            }
            throw fail(node, "\(label): \(v) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    private func describe(_ range: ClosedRange<Int>) -> String {
        if range == Int.min...Int.max { return "an integer" }
        if range.upperBound == Int.max { return "an integer >= \(range.lowerBound)" }
        return "an integer in \(range.lowerBound)...\(range.upperBound)"
    }

    func parseInt(_ s: String) -> Int? {
        var t = Substring(s)
        var negative = false
        if t.first == "+" || t.first == "-" {
            negative = t.first == "-"
            t = t.dropFirst()
        }
        guard let f = t.first, f.isASCII, f.isNumber, let l = t.last, l.isASCII, l.isNumber,
            t.allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "_" })
        else { return nil }
        return Int((negative ? "-" : "") + t.filter { $0 != "_" })
    }

    func bool(_ node: YNode, _ label: String) throws(ScenarioError) -> Bool {
        switch node.isNull ? nil : node.scalar {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw fail(node, "\(label): expected true or false, got \(node.shortDescription)")
        }
    }

    func duration(_ node: YNode, _ label: String, positive: Bool = false) throws(ScenarioError) -> Nanos {
        guard let s = node.scalar, !node.isNull else {
            throw fail(
                node, "\(label): expected a duration (\(Durations.examples)), got \(node.shortDescription)")
        }
        switch Durations.parse(s) {
        case .success(let n):
            if positive && n == 0 { throw fail(node, "\(label): must be longer than 0") }
            return n
        case .failure(let e):
            throw fail(node, "\(label): \(e.message)")
        }
    }

    func rate(_ node: YNode, _ label: String) throws(ScenarioError) -> Double {
        guard let s = node.scalar, !node.isNull else {
            throw fail(node, "\(label): expected a rate (e.g. 2000/s), got \(node.shortDescription)")
        }
        switch Durations.parseRate(s) {
        case .success(let v):
            guard v > 0 else { throw fail(node, "\(label): must be more than 0/s") }
            return v
        case .failure(let e):
            throw fail(node, "\(label): \(e.message)")
        }
    }

    func address(_ node: YNode, _ label: String) throws(ScenarioError) -> IPv4Address {
        let s = try string(node, label)
        guard let a = IPv4Address(s) else {
            throw fail(node, "\(label): \(quoted(s)) is not an IPv4 address like 10.0.0.1")
        }
        return a
    }

    static func isName(_ s: String, firstMayBeDigit: Bool) -> Bool {
        guard let f = s.first, f.isASCII, f.isLetter || (firstMayBeDigit && f.isNumber) else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    // MARK: - The scenario

    func scenario(_ root: YNode) throws(ScenarioError) -> Scenario {
        let top = try fields(root, "the scenario", context: "")
        // The version first: keys unknown here may be known to a newer schema.
        if let versionNode = top.value("twlab") {
            let version = try int(versionNode, "twlab", 0...Int.max)
            guard version == 1 else {
                throw fail(versionNode, "twlab: this version of twlab reads schema version 1, not \(version)")
            }
        }
        try checkKeys(top, allowed: Self.topKeys, in: "the scenario")
        _ = try required(top, "twlab", "the scenario", hint: "the schema version: twlab: 1")

        let nameNode = try required(top, "name", "the scenario")
        let name = try string(nameNode, "name")
        guard !name.isEmpty,
            name.allSatisfy({
                $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-")
            })
        else {
            throw fail(nameNode, "name: \(quoted(name)) may only contain a-z, 0-9, '.', '_' and '-'")
        }
        var description = ""
        if let n = top.value("description") { description = try string(n, "description") }

        var kernel = KernelProfile.newest
        if let n = top.value("kernel") {
            let k = try string(n, "kernel")
            guard let p = KernelProfile.named(k) else {
                let names = KernelProfile.all.map(\.name).joined(separator: ", ")
                throw fail(n, "kernel: no kernel profile \(quoted(k)) (available: \(names))")
            }
            kernel = p
        }
        var seed: UInt64 = 1
        if let n = top.value("seed") {
            guard let s = n.scalar, !n.isNull, let v = UInt64(s.filter { $0 != "_" }), s.first != "+" else {
                throw fail(n, "seed: expected an integer in 0...\(UInt64.max), got \(n.shortDescription)")
            }
            seed = v
        }
        var duration: Nanos?
        if let n = top.value("duration") { duration = try self.duration(n, "duration", positive: true) }
        var network = NetworkSpec()
        if let n = top.value("network") { network = try self.network(n) }

        let hosts = try self.hosts(try required(top, "hosts", "the scenario"), kernel: kernel)
        let workloads = try self.workloads(try required(top, "workloads", "the scenario"), hosts: hosts)
        var observe: [ObservePoint] = [.end]
        if let n = top.value("observe") { observe = try self.observe(n, workloads: workloads) }
        var sampleEvery: Nanos?
        if let n = top.value("sample_every") {
            sampleEvery = try self.duration(n, "sample_every", positive: true)
        }
        var expect: [Expectation] = []
        if readsExpectations, let n = top.value("expect") {
            expect = try expectations(n, hosts: hosts, workloads: workloads, observe: observe)
        }

        return Scenario(
            name: name, description: description, kernel: kernel, seed: seed, duration: duration,
            network: network,
            hosts: hosts, workloads: workloads, observe: observe, sampleEvery: sampleEvery, expect: expect,
            source: file)
    }

    func network(_ node: YNode) throws(ScenarioError) -> NetworkSpec {
        let f = try fields(node, "network", context: "network", shape: "a map like {delay: 0.1ms, loss: 0}")
        try checkKeys(f, allowed: ["delay", "loss"], in: "network")
        var spec = NetworkSpec()
        if let n = f.value("delay") { spec.delay = try duration(n, "network: delay") }
        if let n = f.value("loss") {
            guard let s = n.scalar, !n.isNull, Durations.Decimal.parse(s) != nil, let v = Double(s) else {
                throw fail(n, "network: loss: expected a probability like 0.01, got \(n.shortDescription)")
            }
            guard v < 1 else { throw fail(n, "network: loss: \(s) is outside [0, 1)") }
            spec.loss = v
        }
        return spec
    }

    // MARK: - Hosts

    func hosts(_ node: YNode, kernel: KernelProfile) throws(ScenarioError) -> [HostSpec] {
        let f = try fields(node, "hosts", context: "hosts", shape: "a map of host names to hosts")
        guard !f.entries.isEmpty else { throw fail(node, "hosts: at least one host is needed") }
        var owners: [UInt32: String] = [:]
        var insideNodes: [String: [YNode]] = [:]
        var out: [HostSpec] = []
        for e in f.entries {
            guard Self.isName(e.name, firstMayBeDigit: false) else {
                throw fail(
                    e.key,
                    "host name \(quoted(e.name)) must start with a letter and hold only letters, digits, '_' and '-'"
                )
            }
            out.append(try host(e.name, e.value, kernel: kernel, owners: &owners, insideNodes: &insideNodes))
        }
        try checkGateways(out, insideNodes)
        return out
    }

    /// The `nat: inside` lists as a whole (``NATTopology/problem(in:)``), reported at the name
    /// at fault. `insideNodes`: per gateway, the YAML nodes of its `inside` names.
    func checkGateways(_ hosts: [HostSpec], _ insideNodes: [String: [YNode]]) throws(ScenarioError) {
        guard let p = NATTopology.problem(in: hosts) else { return }
        let gateway = hosts[p.gateway].name
        // Every gateway's names were read with their nodes, one node per name.
        throw fail(insideNodes[gateway]![p.item], "host '\(gateway)': nat: inside: \(p.message)")
    }

    func host(
        _ name: String, _ node: YNode, kernel: KernelProfile, owners: inout [UInt32: String],
        insideNodes: inout [String: [YNode]]
    )
        throws(ScenarioError)
        -> HostSpec
    {
        let ctx = "host '\(name)'"
        let f = try fields(node, ctx, context: ctx, shape: "a map (address, sysctl, listen, ...)")
        try checkKeys(f, allowed: Self.hostKeys, in: ctx)

        var addresses: [(IPv4Address, YNode)] = []
        switch (f.value("address"), f.value("addresses")) {
        case (nil, nil):
            throw fail(node, "\(ctx) is missing required key 'address' (or 'addresses', a list)")
        case (.some, .some):
            throw fail(f.key("addresses")!, "\(ctx): give either address or addresses, not both")
        case (let a?, nil):
            addresses = [(try address(a, f.label("address")), a)]
        case (nil, let list?):
            let items = try self.list(list, f.label("addresses"), shape: "a list of addresses")
            guard !items.isEmpty else {
                throw fail(list, "\(ctx): addresses: at least one address is needed")
            }
            for item in items { addresses.append((try address(item, f.label("addresses")), item)) }
        }
        for (a, n) in addresses {
            if a.value == 0 { throw fail(n, "\(ctx): 0.0.0.0 is the wildcard address, not a host address") }
            if let other = owners[a.value] {
                throw fail(n, "\(ctx): address \(a) is already used by host '\(other)'")
            }
            owners[a.value] = name
        }

        var uptime = 86_400 * Nanos.nanosPerSecond
        if let n = f.value("uptime") { uptime = try duration(n, f.label("uptime")) }

        var sysctls = kernel.defaults
        var sysctlOverrides: [(name: String, value: String)] = []
        if let n = f.value("sysctl") {
            let s = try fields(n, f.label("sysctl"), context: ctx, shape: "a map of sysctl names to values")
            for e in s.entries {
                if SysctlRegistry.entry(named: e.name) == nil {
                    // The registry's message suggests names with the same last part.
                    var scratch = sysctls
                    do throws(SysctlError) {
                        try SysctlRegistry.set(e.name, to: "", in: &scratch)
                    } catch { throw fail(e.key, "\(ctx): \(error.message)") }
                }
                if let why = kernel.sysctlUnavailable(e.name) { throw fail(e.key, "\(ctx): \(why)") }
                // Both engines give conntrack's sysctls to gateways only (NAT-1).
                if SysctlRegistry.needsConntrack(e.name) && f.value("nat") == nil {
                    throw fail(
                        e.key,
                        "\(ctx): \(e.name) belongs to conntrack, which runs only on a NAT gateway (a host with nat:)"
                    )
                }
                guard let text = e.value.scalar, !e.value.isNull else {
                    throw fail(e.value, "\(e.name): expected a value, got \(e.value.shortDescription)")
                }
                if let why = kernel.sysctlValueUnavailable(e.name, String(text.filter { $0 != " " })) {
                    throw fail(e.value, why)
                }
                do throws(SysctlError) {
                    try SysctlRegistry.set(e.name, to: text, in: &sysctls)
                } catch {
                    throw fail(e.value, error.message)
                }
                sysctlOverrides.append((e.name, text))
            }
        }

        var listeners: [ListenerSpec] = []
        if let n = f.value("listen") {
            for item in try list(n, f.label("listen"), shape: "a list of listeners (- port: 80)") {
                let l = try listener(item, ctx: ctx)
                if listeners.contains(where: { $0.port == l.port }) {
                    throw fail(item, "\(ctx) listens on port \(l.port) twice")
                }
                listeners.append(l)
            }
        }
        var nat: NATSpec? = nil
        if let n = f.value("nat") {
            let (spec, nodes) = try self.nat(n, ctx: ctx)
            nat = spec
            insideNodes[name] = nodes
            if let l = f.key("listen") { throw fail(l, "\(ctx) is a NAT gateway: it runs no listeners") }
        }
        return HostSpec(
            name: name, addresses: addresses.map(\.0), uptime: uptime, sysctls: sysctls,
            sysctlOverrides: sysctlOverrides, listeners: listeners, nat: nat)
    }

    /// `nat: { inside: [HOST, ...], ports: "LOW-HIGH", mode: masquerade }`; host names are
    /// resolved in ``checkGateways(_:_:)`` (with the nodes returned here) once every host is known.
    func nat(_ node: YNode, ctx: String) throws(ScenarioError) -> (NATSpec, [YNode]) {
        let label = "\(ctx): nat"
        let f = try fields(
            node, label, context: label, shape: "a map like {inside: [client], ports: \"20000-20010\"}")
        try checkKeys(f, allowed: ["inside", "ports", "mode"], in: label)
        let insideNode = try required(f, "inside", label, hint: "the hosts behind the gateway, e.g. [client]")
        var inside: [String] = []
        let insideItems = try list(insideNode, "\(label): inside", shape: "a list of host names")
        for item in insideItems { inside.append(try string(item, "\(label): inside")) }
        guard !inside.isEmpty else { throw fail(insideNode, "\(label): inside: at least one host is needed") }
        var ports: ClosedRange<UInt16>? = nil
        if let n = f.value("ports") {
            let text = try string(n, "\(label): ports")
            let ends = text.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count), let a = UInt16(ends[0]),
                let b = UInt16(ends.count == 2 ? ends[1] : ends[0]), a >= 1, a <= b
            else {
                throw fail(
                    n, "\(label): ports: \(quoted(text)) is not a port or a range like \"20000-20010\"")
            }
            ports = a...b
        }
        var mode = NATSpec.Mode.masquerade
        if let n = f.value("mode") {
            let m = try string(n, "\(label): mode")
            guard let v = NATSpec.Mode(rawValue: m) else {
                throw fail(n, "\(label): mode: \(quoted(m)) is not supported (masquerade)")
            }
            mode = v
        }
        return (NATSpec(inside: inside, ports: ports, mode: mode), insideItems)
    }

    func listener(_ node: YNode, ctx: String) throws(ScenarioError) -> ListenerSpec {
        let what = "listener of \(ctx)"
        let pre = try fields(node, what, context: what, shape: "a map like {port: 80}")
        let portNode = try required(pre, "port", "a listener of \(ctx)")
        let port = try int(portNode, "\(ctx): listen: port", 1...65535)
        let lctx = "listener \(port) of \(ctx)"
        let f = Fields(node: pre.node, context: lctx, entries: pre.entries)
        try checkKeys(f, allowed: Self.listenerKeys, in: lctx)
        var spec = ListenerSpec(port: UInt16(port))
        if let n = f.value("backlog") { spec.backlog = try int(n, f.label("backlog"), 0...Int(Int32.max)) }
        if let n = f.value("http") {
            if n.isNull || (n.scalar == "none") {
                spec.http = nil
            } else {
                let h = try fields(
                    n, f.label("http"), context: "\(lctx): http", shape: "a map like {status: 404} or none")
                try checkKeys(h, allowed: ["status", "keepalive_timeout"], in: "\(lctx): http")
                var http = HTTPServerSpec()
                if let s = h.value("status") { http.status = try int(s, h.label("status"), 100...599) }
                if let k = h.value("keepalive_timeout") {
                    http.keepaliveTimeout = try duration(k, h.label("keepalive_timeout"))
                }
                spec.http = http
            }
        }
        if let n = f.value("accept") {
            let a = try fields(
                n, f.label("accept"), context: "\(lctx): accept",
                shape: "a map: {delay: 0ms}, {never: true} or {rate: 100/s}")
            try checkKeys(a, allowed: ["delay", "never", "rate"], in: "\(lctx): accept")
            guard a.entries.count == 1, let e = a.entries.first else {
                throw fail(n, "\(lctx): accept: give exactly one of delay, never or rate")
            }
            switch e.name {
            case "delay": spec.accept = .immediate(delay: try duration(e.value, a.label("delay")))
            case "never": spec.accept = try bool(e.value, a.label("never")) ? .never : .immediate(delay: 0)
            default: spec.accept = .rate(perSecond: try rate(e.value, a.label("rate")))
            }
        }
        return spec
    }

    // MARK: - Workloads

    func workloads(_ node: YNode, hosts: [HostSpec]) throws(ScenarioError) -> [WorkloadSpec] {
        let items = try list(node, "workloads", shape: "a list of workloads (- name: ...)")
        // Every name first, so `after:` may point forwards.
        var known: [String] = []
        for item in items {
            if case .map(let pairs) = item.value,
                let n = pairs.first(where: { $0.key.scalar == "name" })?.value.scalar
            {
                known.append(n)
            }
        }
        let nat = NATTopology(hosts)
        var out: [WorkloadSpec] = []
        var afterNodes: [(name: String, target: String, node: YNode)] = []
        for (i, item) in items.enumerated() {
            let (w, afterNode) = try workload(
                item, index: i + 1, hosts: hosts, nat: nat, known: known, taken: out.map(\.name))
            out.append(w)
            if case .after(let t) = w.start, let afterNode { afterNodes.append((w.name, t, afterNode)) }
        }
        // One `after` per workload: follow the chain from each; coming back is a cycle.
        for a in afterNodes {
            var chain = [a.name]
            var next = a.target
            while let step = afterNodes.first(where: { $0.name == next }) {
                chain.append(step.name)
                if step.name == a.name {
                    let names = chain.map { "'\($0)'" }.joined(separator: " -> ")
                    throw fail(a.node, "workloads \(names) wait for each other ('after' forms a cycle)")
                }
                if chain.count > afterNodes.count + 1 { break }
                next = step.target
            }
        }
        return out
    }

    func workload(
        _ node: YNode, index: Int, hosts: [HostSpec], nat: NATTopology, known: [String], taken: [String]
    )
        throws(ScenarioError)
        -> (WorkloadSpec, YNode?)
    {
        let anon = "workload \(index)"
        let pre = try fields(node, anon, context: anon, shape: "a map (name, from, to, kind, ...)")
        let nameNode = try required(pre, "name", anon)
        let name = try string(nameNode, "\(anon): name")
        guard Self.isName(name, firstMayBeDigit: true) else {
            throw fail(
                nameNode,
                "workload name \(quoted(name)) must start with a letter or digit and hold only letters, digits, '_' and '-'"
            )
        }
        guard name != "end" else {
            throw fail(nameNode, "workload name 'end' is reserved (observe: at: end)")
        }
        guard !taken.contains(name) else {
            throw fail(nameNode, "another workload is already called '\(name)'")
        }
        let ctx = "workload '\(name)'"
        let f = Fields(node: pre.node, context: ctx, entries: pre.entries)

        let kinds = "curl, wrk, rate, connect or synflood"
        let kindNode = try required(f, "kind", ctx, hint: kinds)
        let kind = try string(kindNode, f.label("kind"))
        guard let kindKeys = Self.kindKeys.first(where: { $0.kind == kind })?.keys else {
            throw fail(kindNode, "\(ctx): kind: unknown kind \(quoted(kind)) (expected \(kinds))")
        }
        let allowed = Self.workloadKeys + kindKeys
        for e in f.entries where !allowed.contains(e.name) {
            if Self.kindKeys.contains(where: { $0.keys.contains(e.name) }) {
                throw fail(
                    e.key,
                    "key \(quoted(e.name)) is not allowed for kind \(kind) in \(ctx) (\(kind) takes: \(kindKeys.joined(separator: ", ")))"
                )
            }
            throw fail(
                e.key,
                "unknown key \(quoted(e.name)) in \(ctx) (expected one of: \(allowed.joined(separator: ", ")))"
            )
        }

        let fromNode = try required(f, "from", ctx, hint: "the client host")
        let from = try string(fromNode, f.label("from"))
        guard let fromIndex = nat.index(of: from) else {
            throw fail(fromNode, "\(ctx): from: unknown host \(quoted(from)) (hosts: \(hostList(hosts)))")
        }
        let fromHost = hosts[fromIndex]
        if let why = nat.whyNoClient(fromIndex) { throw fail(fromNode, "\(ctx): from: \(why)") }
        let toNode = try required(f, "to", ctx, hint: "HOST:PORT")
        let to = try endpoint(toNode, f.label("to"), hosts: hosts, from: from)
        // A loopback address is the workload's own host; any other is a scenario host's.
        if let target = hosts.firstIndex(where: { $0.addresses.contains(to.address) }),
            let why = nat.whyUnreachable(from: fromIndex, to: target)
        {
            throw fail(toNode, "\(ctx): to: \(why)")
        }

        var start = StartSpec.at(0)
        var afterNode: YNode?
        switch (f.value("start"), f.value("after")) {
        case (.some, .some):
            throw fail(f.key("after")!, "\(ctx): give either start or after, not both")
        case (let s?, nil):
            start = .at(try duration(s, f.label("start")))
        case (nil, let a?):
            let target = try string(a, f.label("after"))
            guard target != name else { throw fail(a, "\(ctx) cannot start after itself") }
            guard known.contains(target) else {
                throw fail(a, "\(ctx) starts after unknown workload \(quoted(target))")
            }
            start = .after(target)
            afterNode = a
        case (nil, nil):
            break
        }

        let wkind: WorkloadKind
        switch kind {
        case "curl": wkind = .curl(try curl(f))
        case "connect": wkind = .connect(try connect(f, from: fromHost))
        case "synflood": wkind = .synflood(try synFlood(f))
        case "wrk": wkind = .wrk(try wrk(f))
        default: wkind = .rate(try rateSpec(f))
        }
        return (WorkloadSpec(name: name, from: from, to: to, start: start, kind: wkind), afterNode)
    }

    func hostList(_ hosts: [HostSpec]) -> String { hosts.map(\.name).joined(separator: ", ") }

    /// `HOST:PORT` or `A.B.C.D:PORT`; the host must be in the scenario, the port need not listen.
    /// A 127.0.0.0/8 address is the workload's own host over loopback (TWR-2: tw_reuse=2).
    func endpoint(_ node: YNode, _ label: String, hosts: [HostSpec], from: String? = nil)
        throws(ScenarioError)
        -> Endpoint
    {
        let s = try string(node, label)
        guard let colon = s.lastIndex(of: ":") else {
            throw fail(node, "\(label): \(quoted(s)) is not HOST:PORT (e.g. server:80)")
        }
        let hostPart = String(s[..<colon])
        let portPart = String(s[s.index(after: colon)...])
        guard let port = Int(portPart), (1...65535).contains(port) else {
            throw fail(node, "\(label): \(quoted(portPart)) is not a port in 1...65535")
        }
        if let a = IPv4Address(hostPart) {
            if a.isLoopback, let from { return Endpoint(host: from, address: a, port: UInt16(port)) }
            guard hosts.contains(where: { $0.addresses.contains(a) }) else {
                throw fail(node, "\(label): no host in the scenario has address \(a)")
            }
            return Endpoint(host: nil, address: a, port: UInt16(port))
        }
        guard let h = hosts.first(where: { $0.name == hostPart }) else {
            throw fail(node, "\(label): unknown host \(quoted(hostPart)) (hosts: \(hostList(hosts)))")
        }
        return Endpoint(host: h.name, address: h.addresses[0], port: UInt16(port))
    }

    func closeMode(_ f: Fields) throws(ScenarioError) -> CloseMode {
        guard let n = f.value("close") else { return .fin }
        let s = try string(n, f.label("close"))
        guard let m = CloseMode(rawValue: s) else {
            throw fail(n, "\(f.label("close")): expected fin or linger0, got \(quoted(s))")
        }
        return m
    }

    func request(_ f: Fields) throws(ScenarioError) -> HTTPRequestSpec {
        var r = HTTPRequestSpec()
        if let n = f.value("http") {
            let s = try string(n, f.label("http"))
            guard let v = HTTPVersion(rawValue: s) else {
                throw fail(n, "\(f.label("http")): expected \"1.0\" or \"1.1\", got \(quoted(s))")
            }
            r.version = v
        }
        if let n = f.value("header") {
            let h = try fields(
                n, f.label("header"), context: f.context, shape: "a map like {Connection: close}")
            for e in h.entries {
                guard !e.name.isEmpty,
                    e.name.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != ":" && !$0.isNewline })
                else {
                    throw fail(e.key, "\(f.label("header")): \(quoted(e.name)) is not a header name")
                }
                let v = try string(e.value, "\(f.label("header")): \(e.name)")
                r.headers.append(HTTPHeader(name: e.name, value: v))
            }
        }
        return r
    }

    func timeout(_ f: Fields) throws(ScenarioError) -> Nanos? {
        guard let n = f.value("timeout") else { return nil }
        return try duration(n, f.label("timeout"), positive: true)
    }

    func curl(_ f: Fields) throws(ScenarioError) -> CurlSpec {
        let count = try int(try required(f, "count", f.context), f.label("count"), 1...Int.max)
        var spec = CurlSpec(count: count)
        if let n = f.value("interval") { spec.interval = try duration(n, f.label("interval")) }
        spec.request = try request(f)
        spec.close = try closeMode(f)
        spec.timeout = try timeout(f)
        if let n = f.value("startup") { spec.startup = try duration(n, f.label("startup")) }
        if let n = f.value("reuse_connection") {
            spec.reuseConnection = try bool(n, f.label("reuse_connection"))
        }
        return spec
    }

    func connect(_ f: Fields, from: HostSpec) throws(ScenarioError) -> ConnectSpec {
        let count = try int(try required(f, "count", f.context), f.label("count"), 1...Int.max)
        var spec = ConnectSpec(count: count)
        if let n = f.value("concurrency") {
            spec.concurrency = try int(n, f.label("concurrency"), 1...Int.max)
        }
        if let n = f.value("hold") { spec.hold = try duration(n, f.label("hold")) }
        spec.close = try closeMode(f)
        if let n = f.value("bind") { spec.bind = try bind(n, f, from: from) }
        if let n = f.value("fill") { spec.fill = try bool(n, f.label("fill")) }
        if let n = f.value("rounds") { spec.rounds = try int(n, f.label("rounds"), 1...Int.max) }
        if let n = f.value("interval") { spec.interval = try duration(n, f.label("interval")) }
        if let n = f.value("spacing") { spec.spacing = try duration(n, f.label("spacing")) }
        if let n = f.value("request"), try bool(n, f.label("request")) { spec.request = HTTPRequestSpec() }
        spec.timeout = try timeout(f)
        return spec
    }

    func bind(_ node: YNode, _ w: Fields, from: HostSpec) throws(ScenarioError) -> BindSpec {
        let b = try fields(
            node, w.label("bind"), context: "\(w.context): bind",
            shape: "a map like {address: 10.0.0.1, no_port: true}")
        try checkKeys(b, allowed: ["address", "port", "no_port", "reuseaddr"], in: "\(w.context): bind")
        var spec = BindSpec()
        if let n = b.value("address") {
            let a = try address(n, b.label("address"))
            if a.value != 0 {
                guard from.addresses.contains(a) else {
                    let mine = from.addresses.map(\.description).joined(separator: ", ")
                    throw fail(
                        n,
                        "\(b.label("address")): \(a) is not an address of host '\(from.name)' (\(mine), or 0.0.0.0)"
                    )
                }
                spec.address = a
            }
        }
        if let n = b.value("port") { spec.port = UInt16(try int(n, b.label("port"), 0...65535)) }
        if let n = b.value("no_port") { spec.noPort = try bool(n, b.label("no_port")) }
        if let n = b.value("reuseaddr") { spec.reuseAddress = try bool(n, b.label("reuseaddr")) }
        return spec
    }

    func rateSpec(_ f: Fields) throws(ScenarioError) -> RateSpec {
        let perSecond = try rate(try required(f, "rate", f.context, hint: "e.g. 2000/s"), f.label("rate"))
        let duration = try duration(
            try required(f, "duration", f.context), f.label("duration"), positive: true)
        return RateSpec(
            perSecond: perSecond, duration: duration, request: try request(f), close: try closeMode(f),
            timeout: try timeout(f))
    }

    /// `connections` for `duration` or until `requests` responses: at least one of the two.
    func wrk(_ f: Fields) throws(ScenarioError) -> WrkSpec {
        let n = try int(
            try required(f, "connections", f.context), f.label("connections"), 1...100_000)
        var spec = WrkSpec(connections: n, request: try request(f), close: try closeMode(f))
        if let d = f.value("duration") {
            spec.duration = try duration(d, f.label("duration"), positive: true)
        }
        if let r = f.value("requests") { spec.requests = try int(r, f.label("requests"), 1...Int(Int32.max)) }
        if spec.duration == nil && spec.requests == nil {
            throw fail(f.node, "\(f.context): a wrk workload needs duration (e.g. 10s) or requests")
        }
        if let t = try timeout(f) { spec.timeout = t }
        if let s = f.value("spacing") { spec.spacing = try duration(s, f.label("spacing")) }
        return spec
    }

    /// `count` SYNs at `rate` (default 10000/s), or `rate` for `duration`: exactly one of count
    /// and duration.
    func synFlood(_ f: Fields) throws(ScenarioError) -> SynFloodSpec {
        var spec = SynFloodSpec()
        if let n = f.value("rate") { spec.perSecond = try rate(n, f.label("rate")) }
        switch (f.value("count"), f.value("duration")) {
        case (let c?, nil):
            spec.count = try int(c, f.label("count"), 1...Int(Int32.max))
        case (nil, let d?):
            spec.duration = try duration(d, f.label("duration"), positive: true)
        case (.some, .some):
            throw fail(f.key("duration")!, "\(f.context): give either count or duration, not both")
        case (nil, nil):
            throw fail(f.node, "\(f.context): a synflood needs count (SYNs to send) or duration")
        }
        return spec
    }

    // MARK: - Observe

    func observe(_ node: YNode, workloads: [WorkloadSpec]) throws(ScenarioError) -> [ObservePoint] {
        let shape = "{at: end}, {at: 65s} or {after: WORKLOAD}"
        var out: [ObservePoint] = []
        for (i, item) in try list(node, "observe", shape: "a list like - at: end").enumerated() {
            let what = "observe item \(i + 1)"
            let f = try fields(item, what, context: what, shape: shape)
            try checkKeys(f, allowed: ["at", "after"], in: what)
            let point: ObservePoint
            switch (f.value("at"), f.value("after")) {
            case (.some, .some):
                throw fail(f.key("after")!, "\(what): give either at or after, not both")
            case (nil, nil):
                throw fail(item, "\(what): expected \(shape)")
            case (let a?, nil):
                point = a.scalar == "end" ? .end : .at(try duration(a, f.label("at")))
            case (nil, let a?):
                let w = try string(a, f.label("after"))
                guard workloads.contains(where: { $0.name == w }) else {
                    throw fail(a, "\(what): after: unknown workload \(quoted(w))")
                }
                point = .after(w)
            }
            if out.contains(where: { $0.label == point.label }) {
                throw fail(item, "\(what): the snapshot '\(point.label)' is already observed")
            }
            out.append(point)
        }
        return out
    }
}
