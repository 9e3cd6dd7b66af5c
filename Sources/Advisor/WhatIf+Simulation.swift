import HostInspect
import LinuxTCP
import Results
import Scenario
import Simulation

/// Replays one outbound destination through the simulator: an open-loop `rate` client (one
/// HTTP request per connection, the client closing first, so TIME-WAIT stays on the client as in
/// the observed group) against a listener, with the host's port range and reserved ports.
public struct RateReplay: Sendable, Equatable {
    public var source: String
    public var destination: String
    public var port: Int
    /// New connections per second, as observed (or estimated from TIME-WAIT ages).
    public var perSecond: Double
    /// Where `perSecond` comes from, e.g. "measured over 5 s".
    public var rateBasis: String
    /// `ip_local_port_range` as "LOW HIGH".
    public var portRange: String
    /// `ip_local_reserved_ports`, plus listening ports in the range (both are skipped by
    /// connect()'s scan, EP-2/EP-3), as the sysctl writes them ("40003,40005-40006"); "" for none.
    public var reservedPorts: String
    /// The simulator's kernel profile (``KernelProfile/name``), e.g. the one
    /// ``kernelProfile(for:having:)`` picks for the host: its version rules (TWR-3's reuse age
    /// among them) apply.
    public var kernel: String
    /// Client sysctls both runs share (e.g. the timestamps setting, `tcp_tw_reuse_delay`).
    public var clientSysctls: [String: String]
    /// Server (peer) sysctls both runs share.
    public var serverSysctls: [String: String]

    public init(
        source: String, destination: String, port: Int, perSecond: Double, rateBasis: String = "given",
        portRange: String, reservedPorts: String, kernel: String = KernelProfile.newest.name,
        clientSysctls: [String: String] = [:], serverSysctls: [String: String] = [:]
    ) {
        self.source = source
        self.destination = destination
        self.port = port
        self.perSecond = perSecond
        self.rateBasis = rateBasis
        self.portRange = portRange
        self.reservedPorts = reservedPorts
        self.kernel = kernel
        self.clientSysctls = clientSysctls
        self.serverSysctls = serverSysctls
    }

    /// The profile for a host kernel: the newest one not newer than `version` (the oldest for an
    /// older kernel, the newest when the version is unknown), or, when that one lacks one of
    /// `names` (sysctls the host has and the replay sets), the first newer one that has them all:
    /// a 6.14-6.17 host with `tcp_tw_reuse_delay` gets 6.18's millisecond reuse age (TWR-3), not
    /// 6.12's next-second one.
    public static func kernelProfile(for version: KernelVersion?, having names: [String] = []) -> String {
        let all = KernelProfile.all
        guard let version else { return KernelProfile.newest.name }
        let floor = all.lastIndex { KernelProfile.compare($0.name, version.description) <= 0 } ?? 0
        let fits = all[floor...].first { profile in
            names.allSatisfy { profile.sysctlUnavailable($0) == nil }
        }
        return (fits ?? all[floor]).name
    }

    /// The rate as the scenario file writes it (to the thousandth).
    var scenarioRate: Double { (perSecond * 1000).rounded() / 1000 }

    /// The replay's length: 120 s, long enough for TIME-WAIT to reach its steady state (TW-3:
    /// 60 s) and for the ports to run out after it, unless that takes more than ``maxAttempts``
    /// connects; then shorter, to the millisecond, so that `rate × seconds` stays within it
    /// (above 5,000/s under 120 s; above about 9,200/s under 65 s, where no TIME-WAIT expires
    /// within the replay: it then shows how soon the ports run out, not the steady state).
    public var seconds: Double { Double(durationMs) / 1000 }

    var durationMs: Int {
        let wanted = 120_000
        guard scenarioRate > 0 else { return wanted }
        let affordable = Int((Double(Self.maxAttempts) * 1000 / scenarioRate).rounded(.down))
        return max(min(wanted, affordable), 1)
    }

    /// Bounds the simulator's work (a few seconds at most in a debug build).
    public static let maxAttempts = 600_000

    /// "10.0.0.1 -> 10.0.0.5:80, 466/s (measured over 5 s) open loop for 120 s".
    public var description: String {
        "\(source) -> \(destination):\(port), \(formatRate(perSecond))/s (\(rateBasis)) open loop for \(formatRate(seconds)) s"
    }

    /// The scenario for `sides`: client sysctls (`tcp_tw_reuse`, ...) and server sysctls that
    /// this run sets on top of the shared ones.
    func yaml(client: [String: String], server: [String: String]) -> String {
        // Addresses the simulator accepts: IPv4, distinct, not loopback.
        let (src, dst) = Self.simulatorAddresses(source, destination)
        var clientSysctls = clientSysctls.merging(client) { $1 }
        clientSysctls["net.ipv4.ip_local_port_range"] = portRange
        if !reservedPorts.isEmpty { clientSysctls["net.ipv4.ip_local_reserved_ports"] = reservedPorts }
        let serverSysctls = serverSysctls.merging(server) { $1 }
        func block(_ s: [String: String]) -> String {
            s.isEmpty
                ? "{}"
                : "{ "
                    + s.sorted { $0.key < $1.key }.map { "\($0.key): \"\($0.value)\"" }.joined(
                        separator: ", ")
                    + " }"
        }
        return """
            twlab: 1
            name: advise-what-if
            description: "what-if replay of \(source) -> \(destination):\(port)"
            kernel: "\(kernel)"
            seed: 1
            sample_every: 1s
            hosts:
              client:
                address: \(src)
                sysctl: \(block(clientSysctls))
              server:
                address: \(dst)
                sysctl: \(block(serverSysctls))
                listen: [ { port: \(port), backlog: 4096 } ]
            workloads:
              - name: load
                from: client
                to: server:\(port)
                kind: rate
                rate: \(scenarioRate)/s
                duration: \(durationMs)ms
            """
    }

    /// The prediction for one variant. `changed` names the sysctls this variant sets (reported).
    func predict(client: [String: String], server: [String: String]) throws -> Prediction {
        let scenario = try ScenarioLoader.parse(yaml(client: client, server: server), file: "advise-what-if")
        let result = try SimulatorEngine().run(scenario)
        guard let load = result.workload("load") else { throw WhatIfError("the replay has no workload") }
        var outcomes: [String: Int] = [:]
        for o in load.outcomes { outcomes[o.key] = o.count }
        var first: Double?
        if let series = result.series.workloads.first(where: { $0.workload == "load" }),
            let failures = series.outcomes.first(where: { $0.name == "EADDRNOTAVAIL" }),
            let index = failures.values.firstIndex(where: { $0 > 0 }), index < result.series.time.count
        {
            first = result.series.time[index]
        }
        let clientSeries = result.series.hosts.first { $0.host == "client" }
        let peak = clientSeries?.ports.flatMap(\.values).max() ?? 0
        let endTimeWait =
            result.snapshots.last?.hosts.first { $0.host == "client" }?.states.first {
                $0.key == "TIME-WAIT"
            }?
            .count ?? clientSeries?.states.first { $0.name == "TIME-WAIT" }?.values.last ?? 0
        var shown: [String: String] = [:]
        for (k, v) in client { shown[k] = v }
        for (k, v) in server { shown["peer " + k] = v }
        return Prediction(
            sysctls: shown, attempts: load.attempts, outcomes: outcomes, firstFailureSeconds: first,
            peakPortsHeld: peak, timeWaitAtEnd: endTimeWait)
    }

    /// Runs the current and the proposed settings.
    public func whatIf(
        current: (client: [String: String], server: [String: String]),
        proposed: (client: [String: String], server: [String: String])
    ) throws -> WhatIf {
        WhatIf(
            workload: description,
            current: try predict(client: current.client, server: current.server),
            proposed: try predict(client: proposed.client, server: proposed.server))
    }

    /// The observed addresses when the simulator can use them (IPv4, IPv4-mapped IPv6; distinct;
    /// not loopback), else stand-ins: the replay's outcome does not depend on them.
    static func simulatorAddresses(_ source: String, _ destination: String) -> (String, String) {
        func v4(_ a: String) -> String? {
            let s = unmappedIPv4(a)
            let parts = s.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }), !s.hasPrefix("127."),
                !s.hasPrefix("0.")
            else { return nil }
            return s
        }
        if let s = v4(source), let d = v4(destination), s != d { return (s, d) }
        return ("10.0.0.1", "10.0.0.2")
    }
}

/// A what-if that could not be run (a bug, or input the simulator refuses).
public struct WhatIfError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

/// 466.25 -> "466", 2.5 -> "2.5".
func formatRate(_ r: Double) -> String {
    if r >= 100 { return grouped(Int(r.rounded())) }
    let t = (r * 10).rounded() / 10
    return t == t.rounded() ? String(Int(t)) : String(t)
}
