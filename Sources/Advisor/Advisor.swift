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

    /// A destination is under pressure when it holds this share of its usable ports, or when
    /// the observed rate exhausts them at all: ``PortPressure/secondsToExhaustion(usable:held:rate:timeWaitRemaining:)``
    /// gives an estimate only then, and it is never more than 60 s (past one TIME-WAIT lifetime,
    /// TW-3, ports free up as fast as they are taken), so no horizon is needed.
    public static let pressureThreshold = 0.5

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
/// the outbound sockets (``OutboundSockets``).
struct Facts {
    let sample: HostSample
    let inspection: Inspection
    let whatIf: Bool
    let outbound: OutboundSockets
    let version: KernelVersion?

    init(sample: HostSample, inspection: Inspection, whatIf: Bool) {
        self.sample = sample
        self.inspection = inspection
        self.whatIf = whatIf
        outbound = OutboundSockets(ports: inspection.ports, sockets: sample.sockets)
        version = KernelVersion(release: sample.kernelRelease)
    }

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
    /// The number of such connections.
    func peerLacksTimestamps(_ d: Inspection.Destination) -> Int? {
        d.withTimestamps == 0 && d.withoutTimestamps > 0 ? d.withoutTimestamps : nil
    }

    /// TWR-3: how old a TIME-WAIT must be before connect() may take it over on this kernel,
    /// e.g. "tcp_tw_reuse_delay (1 s) old".
    var reuseAge: String {
        if let delay = sysctl("net.ipv4.tcp_tw_reuse_delay") {
            return "tcp_tw_reuse_delay (\(formatMilliseconds(delay))) old"
        }
        guard let version else { return "about 1 s old" }
        if version >= KernelVersion(6, 14) { return "tcp_tw_reuse_delay (1 s by default) old" }
        if version >= KernelVersion(4, 19) {
            return "0-1 s old (the second after its last timestamp, on 4.19-6.13)"
        }
        return "1-2 s old (more than a second after its last timestamp, before 4.19)"
    }

    /// LQ-10: when a client whose SYN is dropped sends it again, e.g. "1, 2, 3, 4, 5, 7, 11, … s
    /// after the first (LQ-10: tcp_syn_linear_timeouts = 4, tcp_syn_retries = 6)". From 6.5 the
    /// first `tcp_syn_linear_timeouts` + 1 retries come 1 s apart, then the wait doubles; before,
    /// it doubles from the start (3 s at first before 3.1). The kernel's release decides; when it
    /// cannot be read, the sysctl's presence does.
    var synRetrySchedule: String {
        let linearSysctl = sysctl("net.ipv4.tcp_syn_linear_timeouts")
        let linear = version.map { $0 >= KernelVersion(6, 5) } ?? (linearSysctl != nil)
        let old = version.map { $0 < KernelVersion(3, 7) } ?? false
        let retries = sysctl("net.ipv4.tcp_syn_retries") ?? (old ? 5 : 6)
        let linearCount = linear ? max(linearSysctl ?? 4, 0) : 0
        let initial = (version.map { $0 < KernelVersion(3, 1) } ?? false) ? 3 : 1
        let times = Self.synRetransmissions(initial: initial, linear: linearCount, retries: retries)
        let shown = times.prefix(7).map(String.init).joined(separator: ", ")
        let more = times.count > 7 ? ", …" : ""
        let why =
            linear
            ? "tcp_syn_linear_timeouts = \(linearCount), tcp_syn_retries = \(retries)"
            : "before 6.5 the wait doubles from the first; tcp_syn_retries = \(retries)"
        return "\(shown)\(more) s after the first (LQ-10: \(why))"
    }

    /// LQ-10: the seconds after the first SYN at which the retransmissions go out. The RTO
    /// starts at `initial`, stays for the first `linear` retransmissions and doubles after each
    /// later one; there are `retries + linear` of them, and none at or past
    /// `(2^(retries+1) − 1) × initial`, when the connect fails.
    static func synRetransmissions(initial: Int, linear: Int, retries: Int) -> [Int] {
        let cap = ((1 << min(max(retries, 0) + 1, 40)) - 1) * initial
        var times: [Int] = []
        var t = 0
        var rto = initial
        for k in 1...max(retries + linear, 1) {
            t += rto
            if t >= cap { break }
            times.append(t)
            if k > linear { rto = min(rto * 2, 120) }
        }
        return times
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
        var client = ["net.ipv4.tcp_timestamps": String(sysctl("net.ipv4.tcp_timestamps") ?? 1)]
        // TWR-3: the host's reuse age, on the profile nearest its kernel.
        if let delay = sample.sysctls["net.ipv4.tcp_tw_reuse_delay"] {
            client["net.ipv4.tcp_tw_reuse_delay"] = delay
        }
        let needed = client.keys.sorted() + (reserved.isEmpty ? [] : ["net.ipv4.ip_local_reserved_ports"])
        return RateReplay(
            source: d.source, destination: d.destination, port: d.port, perSecond: rate, rateBasis: basis,
            portRange: inspection.ports.rangeText, reservedPorts: reserved.joined(separator: ","),
            kernel: RateReplay.kernelProfile(for: version, having: needed), clientSysctls: client,
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

/// 1000 -> "1 s", 250 -> "250 ms", 1500 -> "1500 ms".
func formatMilliseconds(_ ms: Int) -> String { ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms" }
