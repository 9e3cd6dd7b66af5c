import Glibc
import LinuxTCP
import Scenario

/// The network namespaces, links and addresses of one kernel run, and their removal.
///
/// Every object lives inside namespaces named `twlab-<pid>-…` (safety rules): each host gets
/// `twlab-<pid>-<host>` with an `eth0`, created from the switch namespace `twlab-<pid>-0sw` as
/// the peer of a bridge port there, so no interface ever appears in the host's own namespace.
/// Addresses are /32 with on-link routes to every other scenario address, so any addressing
/// plan works on the one bridge. A NAT gateway's inside hosts sit on a bridge of their own
/// behind it (``LabTopology``). Sysctls are written inside each namespace only.
public struct Lab: Sendable {
    /// The prefix of every namespace this process creates.
    public let prefix: String
    public let hosts: [String]

    public init(pid: pid_t = getpid(), hosts: [String]) {
        prefix = "twlab-\(pid)-"
        self.hosts = hosts
    }

    /// A lab under another prefix (which must start with `twlab-<pid>-`): for tests, whose
    /// process holds other `twlab-<pid>-…` namespaces that ``remove()`` must leave alone.
    init(prefix: String, hosts: [String]) {
        self.prefix = prefix
        self.hosts = hosts
    }

    var switchNamespace: String { prefix + "0sw" }
    public func namespace(_ host: String) -> String { prefix + host }

    /// What the kernel engine needs, checked before anything is created: one line if missing.
    public static func preflight() throws(LabError) {
        guard geteuid() == 0 else {
            throw LabError(
                "the kernel engine needs root: it creates network namespaces (run it with sudo); the simulator needs nothing"
            )
        }
        guard (try? run(["ip", "-V"]))?.status == 0 else {
            throw LabError("the kernel engine needs 'ip' from iproute2 (apt-get install iproute2)")
        }
        guard access("/run/netns", F_OK) == 0 || mkdir("/run/netns", 0o755) == 0 || errno == EEXIST else {
            throw LabError("cannot use /run/netns: \(String(cString: strerror(errno)))")
        }
    }

    /// Builds the topology for `scenario` (NAT gateways: ``LabTopology``); on failure removes
    /// what it made.
    public func create(_ scenario: Scenario) throws(LabError) {
        let topology = LabTopology(scenario)
        do {
            try must(["ip", "netns", "add", switchNamespace])
            try must(["ip", "-n", switchNamespace, "link", "set", "lo", "up"])
            for bridge in ["br0"] + topology.gateways.map({ LabTopology.insideBridge($0.index) }) {
                try must(["ip", "-n", switchNamespace, "link", "add", bridge, "type", "bridge"])
                try must(["ip", "-n", switchNamespace, "link", "set", bridge, "up"])
            }
            for (k, h) in scenario.hosts.enumerated() {
                let ns = namespace(h.name)
                let port = "p\(k)"
                try must(["ip", "netns", "add", ns])
                try must(["ip", "-n", ns, "link", "set", "lo", "up"])
                try must([
                    "ip", "-n", switchNamespace, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                    "netns", ns,
                ])
                try must([
                    "ip", "-n", switchNamespace, "link", "set", port, "master", topology.bridge(of: h.name),
                    "up",
                ])
                for a in h.addresses { try must(["ip", "-n", ns, "addr", "add", "\(a)/32", "dev", "eth0"]) }
                try must(["ip", "-n", ns, "link", "set", "eth0", "up"])
                for route in topology.routes(for: h) { try must(["ip", "-n", ns, "route", "add"] + route) }
                // Conntrack's sysctls are a gateway's only, and wait for its ruleset (setUpGateway).
                for (name, value) in h.sysctlOverrides where !SysctlRegistry.needsConntrack(name) {
                    try sysctl(ns, name, value)
                }
            }
            for (k, g) in topology.gateways { try setUpGateway(g, index: k, topology: topology) }
        } catch {
            remove()
            throw error
        }
    }

    /// Drops every inbound SYN-ACK in `host`'s namespace (nftables), so that a SYN flood from it
    /// stays unanswered: without it this host's kernel would reset each SYN-ACK (lab-notes).
    /// ``preflight(_:)`` has checked that nft is there.
    public func dropInboundSynAcks(on host: String) throws(LabError) {
        let ns = namespace(host)
        try must(["ip", "netns", "exec", ns, "nft", "add", "table", "inet", "twlab"])
        try must([
            "ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "twlab", "input",
            "{ type filter hook input priority 0; }",
        ])
        try must([
            "ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "twlab", "input",
            "tcp flags & (syn | ack) == (syn | ack) drop",
        ])
    }

    /// Removes this run's namespaces (their interfaces go with them) after ending, by process
    /// id, any process still inside them.
    public func remove() {
        Lab.remove(namespaces: Lab.namespaces().filter { $0.hasPrefix(prefix) })
    }

    /// Every namespace named twlab-*.
    public static func namespaces() -> [String] {
        guard let d = opendir("/run/netns") else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name.hasPrefix("twlab-") { out.append(name) }
        }
        return out.sorted()
    }

    /// Namespaces left by twlab runs whose process is gone (killed): safe to remove.
    public static func stale() -> [String] {
        namespaces().filter { name in
            let rest = name.dropFirst("twlab-".count)
            // Only names twlab itself makes (twlab-<pid>-…); anything else is not ours to remove.
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]) else { return false }
            return !isTwlab(pid)
        }
    }

    /// Whether `pid` is a running twlab (not a reused pid of something else).
    static func isTwlab(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let f = fopen("/proc/\(pid)/comm", "r") else { return false }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 64)
        guard fgets(&buf, 64, f) != nil else { return false }
        return String(cString: buf).hasPrefix("twlab")
    }

    /// Removes namespaces, first ending the processes inside them (by pid).
    static func remove(namespaces list: [String]) {
        for ns in list {
            if let pids = try? run(["ip", "netns", "pids", ns]), pids.status == 0 {
                for line in pids.output.split(whereSeparator: \.isNewline) {
                    if let p = pid_t(line.trimmingCharacters), p > 1, p != getpid() { kill(p, SIGKILL) }
                }
            }
            _ = try? run(["ip", "netns", "del", ns])
        }
    }

    /// Removes what killed runs left behind; returns what was removed.
    @discardableResult
    public static func cleanStale() -> [String] {
        let s = stale()
        remove(namespaces: s)
        return s
    }
}

extension Substring {
    var trimmingCharacters: String {
        var s = self
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
