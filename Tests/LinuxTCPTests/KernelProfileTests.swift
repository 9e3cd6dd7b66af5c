import LinuxTCP
import Testing

/// What the older kernel profiles change (kernel-spec §0.2), each against the rule it models.
@Suite struct KernelProfileTests {
    typealias N = SpecNet

    /// A client that connected, then both sides closed with the client first: its TIME_WAIT.
    static func clientTimeWait(_ profile: KernelProfile) -> N {
        var n = N.pair(profile: profile)
        let l = n.listen()
        let (c, s) = n.establish(listener: l)
        n.close(0, c)
        n.run(for: Nanos.ms(1))
        n.close(1, s)
        n.run(for: Nanos.ms(1))
        return n
    }

    // TW-3 / SIM-2: up to 4.2 the death row reaps a 60 s TIME_WAIT in (52.5, 60] s and counts
    // TW when it does; 4.3+ count it at creation and the timer wheel adds up to 2.048 s at HZ=250.
    @Test func deathRowTimeWaitLivesUnderSixtySeconds() {
        var n = Self.clientTimeWait(.linux3_10)
        let start = n.now
        #expect(n.states(0)["TIME-WAIT"] == 1)
        #expect(n.hosts[0].counters[.tw] == 0)
        n.run(until: start + Nanos.seconds(Int64(52)))
        #expect(n.states(0)["TIME-WAIT"] == 1)
        n.run(until: start + Nanos.seconds(Int64(60)))
        #expect(n.states(0)["TIME-WAIT"] == nil)
        #expect(n.hosts[0].counters[.tw] == 1)

        var m = Self.clientTimeWait(.linux6_18)
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

    // TWR-3: tw_reuse's age test. 4.19–6.13: the next second after the last timestamp received;
    // 6.14+: tcp_tw_reuse_delay ms after the TIME_WAIT was entered.
    @Test func reuseAgeByVersion() {
        func firstReuse(_ profile: KernelProfile) -> Nanos? {
            var n = N.pair(
                client: ["net.ipv4.ip_local_port_range": "1024 1024", "net.ipv4.tcp_tw_reuse": "1"],
                profile: profile)
            let l = n.listen()
            let (c, s) = n.establish(listener: l)
            n.close(0, c)
            n.run(for: Nanos.ms(1))
            n.close(1, s)
            n.run(for: Nanos.ms(1))
            let entered = n.now
            while n.now < entered + Nanos.seconds(Int64(3)) {
                if case .success = n.connect() { return n.now - entered }
                n.run(for: Nanos.ms(10))
            }
            return nil
        }
        let modern = firstReuse(.linux6_18)
        #expect(
            modern.map { $0 > Nanos.ms(990) && $0 <= Nanos.ms(1010) } == true, "\(String(describing: modern))"
        )
        // uptime is a whole number of days, so the last TS arrived in the first second of the run.
        let older = firstReuse(.linux4_19)
        #expect(older.map { $0 > 0 && $0 <= Nanos.ms(1000) } == true)
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
