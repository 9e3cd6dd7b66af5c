import LinuxTCP
import Testing

/// What the older kernel profiles change (kernel-spec §0.2), each against the rule it models.
@Suite struct KernelProfileTests {
    typealias N = SpecNet

    /// A client that connected, then both sides closed with the client first: its TIME_WAIT,
    /// entered when the server's FIN arrives (`entered`).
    static func clientTimeWait(_ profile: KernelProfile, client: [String: String] = [:]) -> (
        N, entered: Nanos
    ) {
        var n = N.pair(client: client, profile: profile)
        let l = n.listen()
        let (c, s) = n.establish(listener: l)
        n.close(0, c)
        n.run(for: Nanos.ms(1))
        let serverClose = n.now
        n.close(1, s)
        n.run(for: Nanos.ms(1))
        return (n, serverClose + n.delay)
    }

    // TW-3 / SIM-2: up to 4.2 the death row reaps a 60 s TIME_WAIT in (52.5, 60] s and counts
    // TW when it does; 4.3+ count it at creation and the timer wheel adds up to 2.048 s at HZ=250.
    @Test func deathRowTimeWaitLivesUnderSixtySeconds() {
        var (n, start) = Self.clientTimeWait(.linux3_10)
        #expect(n.states(0)["TIME-WAIT"] == 1)
        #expect(n.hosts[0].counters[.tw] == 0)
        n.run(until: start + Nanos.seconds(Int64(52)))
        #expect(n.states(0)["TIME-WAIT"] == 1)
        n.run(until: start + Nanos.seconds(Int64(60)))
        #expect(n.states(0)["TIME-WAIT"] == nil)
        #expect(n.hosts[0].counters[.tw] == 1)

        var (m, _) = Self.clientTimeWait(.linux6_18)
        #expect(m.hosts[0].counters[.tw] == 1)
        m.run(until: m.now + Nanos.seconds(Int64(60)))
        #expect(m.states(0)["TIME-WAIT"] == 1)
    }

    // §0.3 TCP_TIMEOUT_INIT = 3 s before 3.1, tcp_syn_retries = 5: SYNs at 0, 3, 9, 21, 45, 93 s
    // and ETIMEDOUT at 189 s on 2.6.32; 3.10 retries after 1, 3, 7, 15, 31, 63 s (127 s).
    @Test(arguments: [
        (KernelProfile.linux2_6_32, [0, 3, 9, 21, 45, 93], 189),
        (KernelProfile.linux3_10, [0, 1, 3, 7, 15, 31, 63], 127),
    ])
    func synRetrySchedule(profile: KernelProfile, synAt: [Int], timeout: Int) {
        var n = N.pair(profile: profile)
        n.drop = { $0.from == 0 }  // no SYN arrives
        _ = n.connect()
        n.run(for: Nanos.seconds(Int64(300)))
        let syns = n.segments(from: 0, where: { $0.flags == [.syn] }).map {
            Int(($0.time + 500_000_000) / 1_000_000_000)
        }
        #expect(syns == synAt)
        let failed = n.firstEvent(0, .failed)
        #expect(failed?.event.errno == .ETIMEDOUT)
        #expect(failed.map { Int(($0.time + 500_000_000) / 1_000_000_000) } == timeout)
    }

    // EP-4: 2.6.32–4.5 take ports from a global hint advanced by the loop index, over every port
    // of both parities, so back-to-back connects to one destination get consecutive ports;
    // 4.6+ take `low`'s parity first.
    @Test func hintEraPortsAreConsecutive() {
        var n = N.pair(client: ["net.ipv4.ip_local_port_range": "1024 1034"], profile: .linux3_10)
        _ = n.listen()
        var ports: [Int] = []
        for _ in 0..<11 {
            guard case .success(let h) = n.connect() else { break }
            ports.append(Int(n.hosts[0].localPort(h) ?? 0))
        }
        #expect(ports.count == 11)
        #expect(Set(ports).count == 11)
        for (a, b) in zip(ports, ports.dropFirst()) { #expect(b == (a - 1024 + 1) % 11 + 1024) }
        if case .failure(let e) = n.connect() { #expect(e == .EADDRNOTAVAIL) } else { Issue.record("12th") }

        var m = N.pair(client: ["net.ipv4.ip_local_port_range": "1024 1034"], profile: .linux4_9)
        _ = m.listen()
        var first: [Int] = []
        for _ in 0..<5 {
            if case .success(let h) = m.connect() { first.append(Int(m.hosts[0].localPort(h) ?? 0)) }
        }
        #expect(first.allSatisfy { $0 % 2 == 0 })
    }

    // TS-3 (x1): the SYN's TSval minus the clock, for two source ports: per 4-tuple on 6.18.44
    // (unrelated), one per host pair on 4.11–6.18.16 (equal), none up to 4.9 (TSval is the raw
    // clock: jiffies, 4 ms at HZ=250), none with tcp_timestamps=2.
    @Test(arguments: [
        (KernelProfile.linux6_18, "1", false), (KernelProfile.linux6_12, "1", true),
        (KernelProfile.linux4_9, "1", true), (KernelProfile.linux6_18, "2", true),
    ])
    func timestampOffsetScope(profile: KernelProfile, timestamps: String, equal: Bool) {
        var n = N.pair(client: ["net.ipv4.tcp_timestamps": timestamps], profile: profile)
        _ = n.listen()
        _ = n.connect()
        n.run(for: Nanos.ms(200))
        _ = n.connect()
        n.run(for: Nanos.ms(1))
        let syns = n.segments(from: 0, where: { $0.flags == [.syn] })
        #expect(syns.count == 2)
        #expect(syns[0].seg.sport != syns[1].seg.sport)
        let tick = Nanos.nanosPerSecond / profile.tsHz
        let offsets = syns.map { $0.seg.tsval &- UInt32(truncatingIfNeeded: (N.uptime + $0.time) / tick) }
        #expect((offsets[0] == offsets[1]) == equal)
        if profile.tsOffset == .none || timestamps == "2" { #expect(offsets == [0, 0]) }
    }

    // TWR-3: tw_reuse's age test, polled every 10 ms from just after the TIME_WAIT's entry
    // (uptime is whole days, so simulated time 0 starts a second and a millisecond).
    // 6.14+: the first poll with `now_ms > entry_ms + tcp_tw_reuse_delay` (1000, or 300 set);
    // 4.19–6.13: the first poll in the second after the last timestamp received (the FIN, in
    // second 0); ≤4.18: more than one second after it.
    @Test func reuseAgeByVersion() {
        func firstReuse(_ profile: KernelProfile, _ extra: [String: String] = [:]) -> (
            start: Nanos, entered: Nanos, reused: Nanos?
        ) {
            let client = ["net.ipv4.ip_local_port_range": "1024 1024", "net.ipv4.tcp_tw_reuse": "1"]
            var (n, entered) = Self.clientTimeWait(profile, client: client.merging(extra) { $1 })
            let start = n.now
            while n.now < start + Nanos.seconds(Int64(3)) {
                if case .success = n.connect() { return (start, entered, n.now) }
                n.run(for: Nanos.ms(10))
            }
            return (start, entered, nil)
        }
        func firstPoll(from start: Nanos, where ok: (Nanos) -> Bool) -> Nanos {
            var t = start
            while !ok(t) { t += Nanos.ms(10) }
            return t
        }
        let m = firstReuse(.linux6_18)
        let entryMs = m.entered / Nanos.ms(1)
        #expect(m.reused == firstPoll(from: m.start) { $0 / Nanos.ms(1) > entryMs + 1000 })
        #expect(m.reused! > Nanos.ms(1000))
        let d = firstReuse(.linux6_18, ["net.ipv4.tcp_tw_reuse_delay": "300"])
        #expect(d.reused == firstPoll(from: d.start) { $0 / Nanos.ms(1) > entryMs + 300 })
        let o = firstReuse(.linux4_19)
        #expect(o.reused == firstPoll(from: o.start) { $0 >= Nanos.seconds(Int64(1)) })
        // ≤4.18: `get_seconds() - ts_recent_stamp > 1`, so not before second 2.
        let old = firstReuse(.linux4_9)
        #expect(old.reused == firstPoll(from: old.start) { $0 >= Nanos.seconds(Int64(2)) })
    }

    // Profile facts of §0.3: defaults that changed over the versions.
    @Test func defaultsByVersion() {
        #expect(KernelProfile.linux2_6_32.defaults.portRangeHigh == 61000)
        #expect(KernelProfile.linux4_4.defaults.portRangeHigh == 60999)
        #expect(KernelProfile.linux4_9.defaults.tcpTwReuse == 0)
        #expect(KernelProfile.linux4_19.defaults.tcpTwReuse == 2)
        #expect(KernelProfile.linux4_19.defaults.somaxconn == 128)
        #expect(KernelProfile.linux5_4.defaults.somaxconn == 4096)
        #expect(KernelProfile.linux2_6_32.defaults.tcpSynRetries == 5)
        #expect(
            KernelProfile.all.map(\.name) == [
                "2.6.32", "3.10", "4.4", "4.9", "4.19", "5.4", "5.10", "5.15", "6.1", "6.6", "6.12", "6.18",
            ])
        #expect(KernelProfile.linux4_9.sysctlUnavailable("net.ipv4.tcp_tw_recycle") == nil)
        #expect(
            KernelProfile.linux4_19.sysctlUnavailable("net.ipv4.tcp_tw_recycle")
                == "net.ipv4.tcp_tw_recycle does not exist on kernel 4.19: it was removed in 4.12")
        #expect(KernelProfile.compare("4.9", "4.12") < 0)
    }
}
