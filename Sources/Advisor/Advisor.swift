import HostInspect

/// `twlab advise`: rules that turn a host's sysctls, sockets and counters into findings. Each
/// rule cites the kernel-spec rule it rests on; where a change is recommended for port
/// pressure, the simulator replays the observed connection rate under the current and the
/// proposed sysctls (``RateReplay``).
public enum Advisor {
    /// The inspection the findings were drawn from, and the findings, most severe first.
    public struct Advice: Sendable {
        public var inspection: Inspection
        public var findings: [Finding]
    }

    /// Thresholds: a destination is under pressure when it holds half its usable ports, or
    /// will run out within two TIME-WAIT lifetimes at the observed rate.
    public static let pressureThreshold = 0.5
    public static let exhaustionHorizon = 120.0

    /// Samples `netns` (nil: this namespace) once, or twice `interval` seconds apart, and advises.
    public static func advise(netns: String?, interval: Double, whatIf: Bool = true) throws(InspectError)
        -> Advice
    {
        // tcp_info tells which connections negotiated timestamps (tw-reuse-without-timestamps).
        let (sample, previous) = try Inspector.samples(netns: netns, interval: interval, withTCPInfo: true)
        return advise(sample: sample, previous: previous, netns: netns, whatIf: whatIf)
    }

    /// The findings for `sample` (rates and counter deltas since `previous` when given; else
    /// counters since the namespace was created).
    public static func advise(sample: HostSample, previous: HostSample?, netns: String?, whatIf: Bool = true)
        -> Advice
    {
        let inspection = Inspection(sample: sample, previous: previous, netns: netns, top: nil)
        let facts = Facts(sample: sample, inspection: inspection, whatIf: whatIf)
        var findings: [Finding] = []
        findings += portPressure(facts)
        findings += reuseWithoutTimestamps(facts)
        findings += bindBeforeConnect(facts)
        findings += finTimeout(facts)
        findings += acceptQueueOverflow(facts)
        findings += synDropsWithoutCookies(facts)
        findings += timeWaitBucketOverflow(facts)
        findings += timeWaitRecycle(facts)
        // Stable order: severity, then rule, then the evidence's first line.
        findings.sort {
            if $0.severity != $1.severity { return $0.severity < $1.severity }
            if $0.id != $1.id { return $0.id < $1.id }
            return ($0.evidence.first ?? "") < ($1.evidence.first ?? "")
        }
        return Advice(inspection: inspection, findings: findings)
    }
}

/// What the rules read: the sample, the inspection built from it, the sysctls as numbers, and
/// the outbound sockets (``OutboundSockets``) with their timestamp negotiation per group.
struct Facts {
    let sample: HostSample
    let inspection: Inspection
    let whatIf: Bool
    let outbound: OutboundSockets
    /// Per "src>dst:port" group: outbound connections whose tcp_info was read, and how many of
    /// them negotiated timestamps (TS-2).
    let timestampsByGroup: [String: (with: Int, without: Int)]

    init(sample: HostSample, inspection: Inspection, whatIf: Bool) {
        self.sample = sample
        self.inspection = inspection
        self.whatIf = whatIf
        outbound = OutboundSockets(ports: inspection.ports, sockets: sample.sockets)
        var byGroup: [String: (with: Int, without: Int)] = [:]
        for s in sample.sockets where s.timestamps != nil && outbound.contains(s) {
            let key = Self.groupKey(unmappedIPv4(s.localAddress), unmappedIPv4(s.remoteAddress), s.remotePort)
            var t = byGroup[key] ?? (0, 0)
            if s.timestamps == true { t.with += 1 } else { t.without += 1 }
            byGroup[key] = t
        }
        timestampsByGroup = byGroup
    }

    var version: KernelVersion? { KernelVersion(release: sample.kernelRelease) }

    func sysctl(_ name: String) -> Int? { sample.sysctls[name].flatMap { Int($0) } }

    /// Counter over the interval (two samples) or since the namespace was created (one).
    func counter(_ name: String) -> Int64 { inspection.counters[name] ?? 0 }

    /// "in 5 s" or "since the namespace was created".
    var window: String {
        inspection.intervalSeconds > 0
            ? "in \(formatRate(inspection.intervalSeconds)) s" : "since boot (or the namespace's creation)"
    }

    /// TWR-2: whether connect() may take over a TIME-WAIT toward `destination` from `source`:
    /// `tcp_tw_reuse` 1, or 2 (the default since 4.18) for loopback only.
    func reuseApplies(source: String, destination: String) -> Bool {
        switch sysctl("net.ipv4.tcp_tw_reuse") ?? 0 {
        case 1: return true
        case 2: return isLoopback(source) || isLoopback(destination)
        default: return false
        }
    }

    /// Whether every live connection of `d` whose tcp_info was read lacks timestamps (and there
    /// is at least one): the peer does not negotiate them, or a middlebox strips them (TS-2).
    func peerLacksTimestamps(_ d: Inspection.Destination) -> (with: Int, without: Int)? {
        guard let t = timestampsByGroup[Self.groupKey(d.source, d.destination, d.port)], t.with == 0,
            t.without > 0
        else { return nil }
        return t
    }

    static func groupKey(_ source: String, _ destination: String, _ port: Int) -> String {
        "\(source)>\(destination):\(port)"
    }

    /// The replay of `d` at its observed rate or, when the interval saw no new connection or
    /// there was one sample, at the rate its TIME-WAIT count implies over the 60 s a TIME-WAIT
    /// lasts (TW-3: in a steady state, TIME-WAIT = rate × 60 s); nil when neither gives a rate.
    /// A peer seen without timestamps keeps them off in every run (`tcp_timestamps=0` on the
    /// replayed server, TS-2), so that no run credits it with a reuse it cannot have.
    func replay(_ d: Inspection.Destination) -> RateReplay? {
        guard whatIf else { return nil }
        var rate = d.newPerSecond ?? 0
        var basis = "measured over \(formatRate(inspection.intervalSeconds)) s"
        if rate <= 0 {
            rate = Double(d.timeWait) / PortPressure.timeWaitSeconds
            basis = "estimated as TIME-WAIT / 60 s"
        }
        guard rate > 0 else { return nil }
        var reserved = inspection.ports.reserved.map {
            $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)"
        }
        for p in outbound.listening.sorted()
        where inspection.ports.contains(p) && !inspection.ports.isReserved(p) {
            reserved.append("\(p)")
        }
        return RateReplay(
            source: d.source, destination: d.destination, port: d.port, perSecond: rate, rateBasis: basis,
            portRange: inspection.ports.rangeText, reservedPorts: reserved.joined(separator: ","),
            clientSysctls: ["net.ipv4.tcp_timestamps": String(sysctl("net.ipv4.tcp_timestamps") ?? 1)],
            serverSysctls: peerLacksTimestamps(d) != nil ? ["net.ipv4.tcp_timestamps": "0"] : [:])
    }

    /// The what-if of `replay` for the two settings; a replay the simulator refuses shows as an
    /// evidence line rather than vanishing.
    func whatIf(
        _ replay: RateReplay?, current: (client: [String: String], server: [String: String]),
        proposed: (client: [String: String], server: [String: String]), into finding: inout Finding
    ) {
        guard let replay else { return }
        do {
            finding.whatIf = try replay.whatIf(current: current, proposed: proposed)
        } catch {
            finding.evidence.append("the simulator could not replay \(replay.description): \(error)")
        }
    }
}

/// 127/8, ::1, or v4-mapped 127/8 (TWR-2's "loopback").
func isLoopback(_ address: String) -> Bool {
    address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
}

/// "0.5" -> "50%".
func percent(_ x: Double) -> String { "\(Int((x * 100).rounded()))%" }
