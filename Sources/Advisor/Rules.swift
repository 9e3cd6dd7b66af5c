import HostInspect

extension Advisor {
    // MARK: - Ports

    /// A destination holding half its usable ports, or that the observed rate exhausts
    /// (``Advisor/pressureThreshold``). EP-6: the limit is per (source IP, destination IP,
    /// destination port).
    ///
    /// Where connect() cannot take over the destination's TIME-WAITs (TWR-2: `tcp_tw_reuse` 0,
    /// or 2 toward a non-loopback peer), every held port counts and the advice is
    /// `tcp_tw_reuse=1`. Where it can, a TIME-WAIT is taken over when a port is needed, so only
    /// the other held ports (connected, closing) count, and only that share against the
    /// threshold: when they alone cross it the advice is pooling and more source addresses,
    /// which reuse cannot stand in for. (TIME-WAITs that reuse would apply to but cannot take,
    /// for want of timestamps, are ``reuseWithoutTimestamps(_:)``'s.)
    static func portPressure(_ f: Facts) -> [Finding] {
        var findings: [Finding] = []
        for d in f.inspection.destinations {
            if f.reuseApplies(source: d.source, destination: d.destination) {
                if let finding = livePortPressure(d, f) { findings.append(finding) }
            } else if isUnderPressure(d) {
                findings.append(timeWaitPortPressure(d, f))
            }
        }
        return findings
    }

    /// `tcp_tw_reuse` does not apply to `d`: its TIME-WAITs hold their ports for 60 s (TW-3).
    static func timeWaitPortPressure(_ d: Inspection.Destination, _ f: Facts) -> Finding {
        let reuseValue = f.sysctl("net.ipv4.tcp_tw_reuse") ?? 0
        var evidence = [
            "\(d.source) -> \(d.destination):\(d.port) holds \(grouped(d.held)) of \(grouped(d.usablePorts)) usable ports (\(percent(d.pressure))): \(grouped(d.timeWait)) in TIME-WAIT, \(grouped(d.established)) connected"
        ]
        evidence.append(rateLine(d, f))
        evidence.append(
            "net.ipv4.tcp_tw_reuse = \(reuseValue)"
                + (reuseValue == 2
                    ? " (loopback only, TWR-2; this destination is not loopback)" : " (off)"))
        evidence.append("net.ipv4.ip_local_port_range = \(f.inspection.ports.rangeText)")
        let timestampsOff = f.sysctl("net.ipv4.tcp_timestamps") == 0
        var recommendation =
            "Set net.ipv4.tcp_tw_reuse=1 on this host: connect() may then take over a TIME-WAIT of the same 4-tuple once it is \(f.reuseAge), when both ends use timestamps (TWR-2, TWR-3). TIME-WAIT itself lasts 60 s whatever the sysctls (TW-3). Better still, reuse connections (keep-alive, pooling) or spread them over more source IPs or destination ports (EP-6)."
        if timestampsOff {
            recommendation +=
                " This host has net.ipv4.tcp_timestamps=0: set it to 1 too, or reuse never applies (TWR-2.1)."
        }
        if let without = f.peerLacksTimestamps(d) {
            evidence.append(
                "\(without) of \(without) live connections to \(d.destination):\(d.port) have no timestamps (tcp_info)"
            )
            recommendation +=
                " The peer does not negotiate timestamps: tcp_tw_reuse cannot take over its TIME-WAITs until it does (TWR-2.1, TS-2)."
        }
        // An estimate exists only when the rate exhausts the ports, and then within 60 s.
        let what: String
        switch d.exhaustionSeconds {
        case 0?: what = "has run out of ephemeral ports"
        case let s?: what = "runs out of ephemeral ports in \(formatRate(s)) s at the observed rate"
        case nil: what = "is running out of ephemeral ports"
        }
        var finding = Finding(
            id: "port-pressure",
            severity: d.pressure >= 0.9 || d.exhaustionSeconds != nil ? .critical : .warning,
            title: "\(d.source) -> \(d.destination):\(d.port) \(what); tcp_tw_reuse does not apply",
            evidence: evidence, recommendation: recommendation)
        var current = ["net.ipv4.tcp_tw_reuse": "\(reuseValue)"]
        var proposed = ["net.ipv4.tcp_tw_reuse": "1"]
        if timestampsOff {
            current["net.ipv4.tcp_timestamps"] = "0"
            proposed["net.ipv4.tcp_timestamps"] = "1"
        }
        f.whatIf(f.replay(d), current: (current, [:]), proposed: (proposed, [:]), into: &finding)
        return finding
    }

    /// `tcp_tw_reuse` applies to `d`, yet the ports it cannot free (every state but TIME-WAIT)
    /// hold ``Advisor/pressureThreshold`` of the usable ones: nil when they do not.
    static func livePortPressure(_ d: Inspection.Destination, _ f: Facts) -> Finding? {
        let live = d.held - d.timeWait
        let share = d.usablePorts > 0 ? Double(live) / Double(d.usablePorts) : 1
        guard live > 0, share >= pressureThreshold else { return nil }
        let reuseValue = f.sysctl("net.ipv4.tcp_tw_reuse") ?? 0
        return Finding(
            id: "port-pressure", severity: share >= 0.9 ? .critical : .warning,
            title:
                "\(d.source) -> \(d.destination):\(d.port) has \(percent(share)) of its ephemeral ports held by open connections; tcp_tw_reuse cannot free them",
            evidence: [
                "\(d.source) -> \(d.destination):\(d.port) holds \(grouped(d.held)) of \(grouped(d.usablePorts)) usable ports (\(percent(d.pressure))): \(grouped(live)) not in TIME-WAIT (\(grouped(d.established)) connected), \(grouped(d.timeWait)) in TIME-WAIT",
                "net.ipv4.tcp_tw_reuse = \(reuseValue): connect() may take over a TIME-WAIT toward this destination (TWR-2), never a port of a connection still open",
                "net.ipv4.ip_local_port_range = \(f.inspection.ports.rangeText)",
            ],
            recommendation:
                "These ports belong to connections that are still open or closing, which tcp_tw_reuse cannot take over (it takes only a TIME-WAIT of the same 4-tuple, TWR-1, TWR-2). Reuse connections instead of opening new ones (keep-alive, a pool with a cap) and close idle ones, or spread them over more source IPs or destination ports: the limit is per (source IP, destination IP, destination port) (EP-6). A wider net.ipv4.ip_local_port_range also helps (EP-1)."
        )
    }

    /// ``Advisor/pressureThreshold`` reached, or an exhaustion estimate at the observed rate.
    static func isUnderPressure(_ d: Inspection.Destination) -> Bool {
        d.pressure >= pressureThreshold || d.exhaustionSeconds != nil
    }

    /// "466/s new connections over 5 s: out of ports in 3.1 s" or the TIME-WAIT ages.
    static func rateLine(_ d: Inspection.Destination, _ f: Facts) -> String {
        if let rate = d.newPerSecond {
            let out =
                d.exhaustionSeconds.map { "; at that rate the ports run out in \(formatRate($0)) s" } ?? ""
            return
                "\(formatRate(rate))/s new connections over \(formatRate(f.inspection.intervalSeconds)) s\(out)"
        }
        let a = d.timeWaitAges
        return
            "TIME-WAIT ages: \(a.under10) under 10 s, \(a.from10To30) 10-30 s, \(a.from30To60) 30-60 s (one sample: no rate; --interval measures one)"
    }

    /// `tcp_tw_reuse` would apply, but a TIME-WAIT without a recorded timestamp is never
    /// reusable (TWR-2.1): this host has `tcp_timestamps=0`, or the peer does not negotiate them
    /// (TS-2: both ends must), seen in the outbound connections' tcp_info.
    static func reuseWithoutTimestamps(_ f: Facts) -> [Finding] {
        let reuseValue = f.sysctl("net.ipv4.tcp_tw_reuse") ?? 0
        guard reuseValue != 0 else { return [] }
        let localOff = f.sysctl("net.ipv4.tcp_timestamps") == 0
        var findings: [Finding] = []
        var hostWide: [Inspection.Destination] = []
        for d in f.inspection.destinations where d.timeWait > 0 {
            guard f.reuseApplies(source: d.source, destination: d.destination) else { continue }
            if localOff {
                hostWide.append(d)
                continue
            }
            guard let without = f.peerLacksTimestamps(d) else { continue }
            var finding = Finding(
                id: "tw-reuse-without-timestamps", severity: isUnderPressure(d) ? .critical : .warning,
                title:
                    "tcp_tw_reuse is on, but \(d.destination):\(d.port) does not negotiate timestamps: its TIME-WAITs are never reused",
                evidence: [
                    "net.ipv4.tcp_tw_reuse = \(reuseValue), net.ipv4.tcp_timestamps = \(f.sysctl("net.ipv4.tcp_timestamps") ?? 1) here",
                    "\(without) of \(without) connections to \(d.destination):\(d.port) from \(d.source) have no timestamps (tcp_info)",
                    "\(grouped(d.timeWait)) TIME-WAIT to it; \(grouped(d.held)) of \(grouped(d.usablePorts)) usable ports held (\(percent(d.pressure)))",
                ],
                recommendation:
                    "Enable TCP timestamps on the peer (net.ipv4.tcp_timestamps=1), or find the middlebox that strips the option: a TIME-WAIT is reusable only if the old connection recorded the peer's timestamp (TWR-2.1, TS-2). Until then, reuse connections (keep-alive, pooling) or spread them over more source IPs."
            )
            if isUnderPressure(d) {
                let reuse = ["net.ipv4.tcp_tw_reuse": "1"]
                f.whatIf(
                    f.replay(d), current: (reuse, ["net.ipv4.tcp_timestamps": "0"]),
                    proposed: (reuse, ["net.ipv4.tcp_timestamps": "1"]), into: &finding)
            }
            findings.append(finding)
        }
        // tcp_tw_reuse=2 with timestamps off matters only when there is loopback traffic.
        if localOff && (reuseValue == 1 || !hostWide.isEmpty) {
            let pressured = hostWide.filter(isUnderPressure)
            let worst = pressured.first ?? hostWide.first
            var evidence = ["net.ipv4.tcp_tw_reuse = \(reuseValue), net.ipv4.tcp_timestamps = 0 on this host"]
            if let worst {
                evidence.append(
                    "\(grouped(hostWide.reduce(0) { $0 + $1.timeWait })) outbound TIME-WAIT in \(hostWide.count) destination group(s); the fullest, \(worst.source) -> \(worst.destination):\(worst.port), holds \(grouped(worst.held)) of \(grouped(worst.usablePorts)) ports (\(percent(worst.pressure)))"
                )
            } else {
                evidence.append("no outbound TIME-WAIT now: nothing to reuse yet")
            }
            var finding = Finding(
                id: "tw-reuse-without-timestamps",
                severity: !pressured.isEmpty ? .critical : worst != nil ? .warning : .info,
                title: "tcp_tw_reuse is on, but tcp_timestamps=0 here: no TIME-WAIT can be reused",
                evidence: evidence,
                recommendation:
                    "Set net.ipv4.tcp_timestamps=1 (the default): with it off no connection records the peer's timestamp, so tcp_tw_reuse never applies (TWR-2.1, TS-2), and PAWS cannot protect a reused 4-tuple (TS-5)."
            )
            if let d = pressured.first {
                f.whatIf(
                    f.replay(d),
                    current: (["net.ipv4.tcp_tw_reuse": "1", "net.ipv4.tcp_timestamps": "0"], [:]),
                    proposed: (["net.ipv4.tcp_tw_reuse": "1", "net.ipv4.tcp_timestamps": "1"], [:]),
                    into: &finding)
            }
            findings.append(finding)
        }
        return findings
    }

    /// Outbound connections on ports of the parity bind(0) picks (EP-7: the one opposite to
    /// the range's low end) while connect()'s own parity (EP-3) is far from used up: the
    /// application binds before connect(), so each port is exclusive across all destinations
    /// (EP-8) instead of shared per destination (EP-6). The parity split exists from 4.6.
    static func bindBeforeConnect(_ f: Facts) -> [Finding] {
        guard let v = f.version, v >= KernelVersion(4, 6) else { return [] }
        let ports = f.inspection.ports
        var outbound = 0
        var bindParity = 0
        var exampleDestinations = Set<String>()
        for s in f.sample.sockets where f.outbound.contains(s) {
            outbound += 1
            if (s.localPort - ports.low) % 2 == 1 {
                bindParity += 1
                if exampleDestinations.count < 3 {
                    exampleDestinations.insert("\(s.remoteAddress):\(s.remotePort)")
                }
            }
        }
        let half = f.inspection.usablePorts / 2
        // connect() stays on its parity while a destination holds fewer than half the ports.
        let connectParityFree = f.inspection.destinations.allSatisfy { $0.held < half }
        guard outbound >= minimumOutbound, Double(bindParity) >= 0.9 * Double(outbound), connectParityFree
        else { return [] }
        let lowParity = ports.low % 2 == 0 ? "even" : "odd"
        let bindName = ports.low % 2 == 0 ? "odd" : "even"
        return [
            Finding(
                id: "bind-before-connect",
                severity: Double(bindParity) >= 0.5 * Double(half) ? .warning : .info,
                title:
                    "outbound connections bind() their port before connect(): ports are not shared across destinations",
                evidence: [
                    "\(grouped(bindParity)) of \(grouped(outbound)) outbound connections use \(bindName) ports, the parity bind(0) picks (EP-7); connect() picks \(lowParity) ports first (EP-3), and no destination has used up those",
                    "examples of destinations: \(exampleDestinations.sorted().joined(separator: ", "))",
                    "a bound port is held against every destination (EP-8): at most about \(grouped(half)) such connections (half the \(grouped(f.inspection.usablePorts)) usable ports) per source IP, in all",
                ],
                recommendation:
                    "Do not bind() before connect(), or set IP_BIND_ADDRESS_NO_PORT on the socket before bind(ip, 0) (≥4.2): connect() then picks the port per destination and shares it across destinations (EP-6, EP-8). Note also that bind()+connect() ignores tcp_tw_reuse (TWR-2)."
            )
        ]
    }

    /// Fewer outbound connections than this say nothing about parity.
    static let minimumOutbound = 8

    // MARK: - TIME-WAIT

    /// `tcp_fin_timeout` changed from 60 in the belief that it shortens TIME-WAIT: it bounds only
    /// orphaned FIN-WAIT-2 (TW-9); TIME-WAIT is TCP_TIMEWAIT_LEN, 60 s, a constant (TW-3).
    static func finTimeout(_ f: Facts) -> [Finding] {
        guard let value = f.sysctl("net.ipv4.tcp_fin_timeout"), value != 60 else { return [] }
        let timeWait = f.inspection.states["TIME-WAIT"] ?? 0
        var evidence = [
            "net.ipv4.tcp_fin_timeout = \(value) (default 60)",
            "\(grouped(timeWait)) sockets in TIME-WAIT now; each lasts 60 s (TW-3)",
        ]
        // TW-9: up to 60 s one timewait socket; above, two stages of value - 60 s each.
        if value > 60 {
            evidence.append(
                "above 60, an orphaned FIN-WAIT-2 lasts 2 × (\(value) - 60) = \(2 * (value - 60)) s in all: \(value - 60) s as a full socket, then \(value - 60) s as a timewait socket (TW-9)"
            )
        } else {
            evidence.append(
                "an orphaned FIN-WAIT-2 lasts \(value) s, or 3.5 × RTO if that is longer, as a timewait socket (TW-9)"
            )
        }
        var finding = Finding(
            id: "fin-timeout-not-time-wait", severity: .info,
            title: "tcp_fin_timeout is \(value), but it does not change how long TIME-WAIT lasts",
            evidence: evidence,
            recommendation:
                "tcp_fin_timeout bounds only orphaned FIN-WAIT-2 sockets (TW-9); TIME-WAIT is a compile-time 60 s (TW-3). Set it back to 60 unless FIN-WAIT-2 orphans pile up. To relieve TIME-WAIT, use tcp_tw_reuse=1 on the connecting side and keep-alive."
        )
        if let d = f.inspection.destinations.first(where: { $0.timeWait > 0 }) {
            f.whatIf(
                f.replay(d), current: (["net.ipv4.tcp_fin_timeout": "\(value)"], [:]),
                proposed: (["net.ipv4.tcp_fin_timeout": "60"], [:]), into: &finding)
        }
        return [finding]
    }

    /// TIME-WAIT sockets refused at `tcp_max_tw_buckets` (TW-6): the connection closes without
    /// TIME-WAIT, so its 4-tuple is unprotected.
    static func timeWaitBucketOverflow(_ f: Facts) -> [Finding] {
        let overflows = f.counter("TcpExtTCPTimeWaitOverflow")
        guard overflows > 0 else { return [] }
        let cap = f.sysctl("net.ipv4.tcp_max_tw_buckets")
        let timeWait = f.inspection.memory.timeWaitSockets
        let size = f.inspection.memory.objectSizes.timeWait4
        var evidence = ["TcpExtTCPTimeWaitOverflow \(grouped(Int(overflows))) \(f.window)"]
        evidence.append(
            "\(grouped(timeWait)) timewait sockets now"
                + (cap.map { " against net.ipv4.tcp_max_tw_buckets = \(grouped($0))" } ?? ""))
        return [
            Finding(
                id: "tw-buckets-overflow", severity: .warning,
                title: "tcp_max_tw_buckets is reached: connections close without TIME-WAIT",
                evidence: evidence,
                recommendation:
                    "Raise net.ipv4.tcp_max_tw_buckets unless it was lowered on purpose: past it a closing connection gets no TIME-WAIT (TW-6), so a late retransmission is answered with RST and an old duplicate can reach a new connection on the same 4-tuple. A timewait socket costs about \(size) bytes here (100,000 of them: \(grouped(100_000 * size / 1_048_576)) MiB). To shed TIME-WAIT safely, use tcp_tw_reuse=1 on the connecting side and keep-alive."
            )
        ]
    }

    /// `tcp_tw_recycle=1` (kernels before 4.12): SYNs from clients behind one NAT address are
    /// dropped when their timestamps go backwards (TR-3, TR-5; counter PAWSPassive).
    static func timeWaitRecycle(_ f: Facts) -> [Finding] {
        guard f.sysctl("net.ipv4.tcp_tw_recycle") == 1 else { return [] }
        let paws = f.counter("TcpExtPAWSPassive")
        return [
            Finding(
                id: "tw-recycle-on", severity: .critical,
                title: "tcp_tw_recycle=1 drops connections from clients behind NAT",
                evidence: [
                    "net.ipv4.tcp_tw_recycle = 1 (removed in 4.12)",
                    "TcpExtPAWSPassive \(grouped(Int(paws))) \(f.window): SYNs dropped for an older timestamp from a peer address (TR-3)",
                ],
                recommendation:
                    "Set net.ipv4.tcp_tw_recycle=0. Behind a NAT several clients share one address with unrelated timestamp clocks; after one of them leaves a TIME-WAIT here, SYNs from the others are dropped for up to 60 s (TR-3, TR-5). Use tcp_tw_reuse=1 on the connecting side instead (TWR-2)."
            )
        ]
    }

    // MARK: - Listen queues

    /// Accept-queue overflows (LQ-4.3, LQ-7), and whether the backlog is the application's
    /// (below somaxconn) or the sysctl's (LQ-1).
    static func acceptQueueOverflow(_ f: Facts) -> [Finding] {
        let overflows = f.counter("TcpExtListenOverflows")
        let full = f.inspection.listeners.filter(\.acceptQueueFull)
        let rated = f.inspection.listeners.filter { ($0.rates?.overflows ?? 0) > 0 }
        guard overflows > 0 || !full.isEmpty else { return [] }
        var implicated = full
        for l in rated where !implicated.contains(where: { $0.address == l.address && $0.port == l.port }) {
            implicated.append(l)
        }
        let somaxconn = f.sysctl("net.core.somaxconn") ?? 4096
        let abort = f.sysctl("net.ipv4.tcp_abort_on_overflow") == 1
        var evidence = ["TcpExtListenOverflows \(grouped(Int(overflows))) \(f.window)"]
        for l in implicated {
            evidence.append(
                "listener \(l.address):\(l.port): Recv-Q \(l.recvQ), "
                    + (l.sendQ.map { "Send-Q \($0) (the accept queue holds \($0 + 1), LQ-2)" }
                        ?? "Send-Q unknown (sockets read from /proc)")
                    + (l.acceptQueueFull ? ": full now" : "")
            )
        }
        evidence.append("net.core.somaxconn = \(somaxconn)")
        let belowCap = implicated.filter { ($0.sendQ ?? somaxconn) < somaxconn }
        var recommendation: String
        if implicated.isEmpty || implicated.allSatisfy({ $0.sendQ == nil }) {
            recommendation =
                "An accept queue overflowed, but no listener can be named (none is full now, or the sockets came from /proc, which shows no backlog): find the listener whose Recv-Q reaches its Send-Q under load (twlab inspect --interval 5s), and raise its listen() backlog or accept faster."
        } else if !belowCap.isEmpty {
            let names = belowCap.map { "\($0.address):\($0.port) (backlog \($0.sendQ ?? 0))" }.joined(
                separator: ", ")
            recommendation =
                "The application's listen() backlog is below net.core.somaxconn (\(somaxconn)) for \(names): raise it in the application (listen(fd, N); the kernel clamps N to somaxconn, LQ-1), and accept faster. While the accept queue is full, SYNs are dropped and final ACKs ignored (LQ-4.3, LQ-7): a client whose SYN is dropped sends it again \(f.synRetrySchedule)."
        } else {
            recommendation =
                "The backlog is already net.core.somaxconn (\(somaxconn)): raise somaxconn and the application's listen() backlog together (LQ-1), and accept faster. While the accept queue is full, SYNs are dropped and final ACKs ignored (LQ-4.3, LQ-7)."
        }
        if abort {
            recommendation +=
                " net.ipv4.tcp_abort_on_overflow=1 turns each ignored final ACK into a RST: clients see ECONNRESET instead of a retry (LQ-7)."
        }
        let rising = f.inspection.intervalSeconds > 0 && overflows > 0
        return [
            Finding(
                id: "accept-queue-overflow", severity: !full.isEmpty || rising ? .critical : .warning,
                title: implicated.isEmpty
                    ? "an accept queue overflowed"
                    : "accept queue \(full.isEmpty ? "overflowing" : "full") on \(implicated.map { "\($0.address):\($0.port)" }.joined(separator: ", "))",
                evidence: evidence, recommendation: recommendation)
        ]
    }

    /// SYNs dropped because the SYN queue was full with `tcp_syncookies=0` (LQ-4.2).
    static func synDropsWithoutCookies(_ f: Facts) -> [Finding] {
        let drops = f.counter("TcpExtTCPReqQFullDrop")
        guard drops > 0, f.sysctl("net.ipv4.tcp_syncookies") == 0 else { return [] }
        var evidence = [
            "TcpExtTCPReqQFullDrop \(grouped(Int(drops))) \(f.window): SYNs dropped with the SYN queue full",
            "net.ipv4.tcp_syncookies = 0",
        ]
        for l in f.inspection.listeners where l.synRecv > 0 {
            evidence.append(
                "listener \(l.address):\(l.port): \(l.synRecv) in SYN-RECV, backlog \(l.sendQ.map(String.init) ?? "unknown")"
            )
        }
        return [
            Finding(
                id: "syn-drops-cookies-off",
                severity: f.inspection.intervalSeconds > 0 ? .critical : .warning,
                title: "SYNs are dropped because the SYN queue is full and SYN cookies are off",
                evidence: evidence,
                recommendation:
                    "Set net.ipv4.tcp_syncookies=1 (the default): with the SYN queue full the kernel then answers with a cookie instead of dropping the SYN (LQ-4.2), so clients do not wait to send their SYN again \(f.synRetrySchedule). The SYN queue's size is the listen() backlog (LQ-4): raise it too if the SYN-RECV count sits at it."
            )
        ]
    }
}
