import LinuxTCP
import Testing

/// tcp_tw_recycle (kernel-spec TR-1..TR-3, ≤4.11) and the SYN-time drop counters by version
/// (LQ-4, CT-2), on a server with `tcp_tw_recycle=1` and timestamps on.
@Suite struct TwRecycleTests {
    typealias N = SpecNet

    /// The server (host 1, tcp_tw_recycle=1) closes first, so its orphan becomes a timewait
    /// socket in the FIN_WAIT2 substate; with `clientCloses` the client's FIN then moves it to
    /// TIME_WAIT. Returns the net and the time that FIN reached the server.
    static func serverClosesFirst(
        _ profile: KernelProfile, clientCloses: Bool = true, server: [String: String] = [:]
    ) -> (SpecNet, Nanos) {
        var sysctls = server
        sysctls["net.ipv4.tcp_tw_recycle"] = "1"
        var n = N.pair(server: sysctls, profile: profile)
        let l = n.listen()
        let (c, s) = n.establish(listener: l)
        n.run(for: Nanos.ms(1))
        n.close(1, s)
        n.run(for: Nanos.ms(5))
        guard clientCloses else { return (n, n.now) }
        n.close(0, c)
        let finAt = n.now + n.delay
        n.run(for: Nanos.ms(5))
        return (n, finAt)
    }

    /// The last TSval the client sent (what the server's ts_recent, and so the cache, holds).
    static func lastClientTS(_ n: SpecNet) -> UInt32 {
        n.segments(from: 0) { $0.hasTS }.last!.seg.tsval
    }

    /// A SYN with a timestamp (or without) from the client's address, on a port no socket uses.
    static func syn(tsval: UInt32?, sport: UInt16 = 45000) -> Segment {
        var s = bareSYN(from: N.client, port: sport, to: N.server, port: 80, seq: 77)
        if let v = tsval {
            s.hasTS = true
            s.tsval = v
        }
        return s
    }

    /// The first moment, in 1 ms steps from `from`, at which host 1 has no TIME-WAIT.
    static func timeWaitGone(_ n: inout SpecNet, from: Nanos, within: Nanos) -> Nanos? {
        var t = from
        while t <= from + within {
            n.run(until: t)
            if n.states(1)["TIME-WAIT"] == nil { return t }
            t += Nanos.ms(1)
        }
        return nil
    }

    /// The server's bare ACK for its TIME_WAIT: in window (seq == rcv_nxt), with a TSval.
    static func bareACK(_ n: SpecNet, tsval: UInt32) -> Segment {
        let fin = n.segments(from: 0) { $0.flags.contains(.fin) }.last!.seg
        return Segment(
            src: N.client, dst: N.server, sport: fin.sport, dport: 80, flags: [.ack], seq: fin.seq &+ 1,
            ack: fin.ack, hasTS: true, tsval: tsval, tsecr: fin.tsecr)
    }

    // TR-2: after the FIN_WAIT2 → TIME_WAIT move the TIME_WAIT lasts the tw_timeout chosen at
    // creation, 3.5·RTO: RTO 200.1 ms (200 ms + the 100 µs srtt) gives 700.35 ms, 176 jiffies at
    // HZ=250 counted from the FIN's jiffy, which began 3.x ms before the FIN: gone 0.701 s after.
    @Test func timeWaitLasts3_5RTOAfterTheMove() {
        var (n, finAt) = Self.serverClosesFirst(.linux4_4)
        #expect(n.states(1) == ["TIME-WAIT": 1, "LISTEN": 1])
        #expect(Self.timeWaitGone(&n, from: finAt, within: Nanos.s(2)).map { $0 - finAt } == Nanos.ms(701))
        // 4.4 counts at creation: the FIN_WAIT2 orphan's 60 s timeout is "TW" (TW-7).
        #expect(n.hosts[1].counters[.tw] == 1)
        #expect(n.hosts[1].counters[.twKilled] == 0)
    }

    // TW-12 step 1 with tcp_tw_recycle: an in-window bare ACK re-arms the TIME_WAIT to
    // TCP_TIMEWAIT_LEN, 60 s (tcp_timewait_state_process), not to 3.5·RTO: it dies 15000 jiffies
    // after the ACK's jiffy, 59.997 s after the ACK (same jiffy phase as above), not 0.7 s.
    @Test func bareAckRearmsTo60s() {
        var (n, finAt) = Self.serverClosesFirst(.linux4_4)
        n.run(until: finAt + Nanos.ms(100))
        let ackAt = n.now
        let ack = Self.bareACK(n, tsval: Self.lastClientTS(n) &+ 25)
        n.call(1) { st, now, out in st.receive(ack, now: now, out: &out) }
        n.run(until: ackAt + Nanos.s(59.9))
        #expect(n.states(1)["TIME-WAIT"] == 1)
        #expect(
            Self.timeWaitGone(&n, from: ackAt + Nanos.s(59.9), within: Nanos.s(1)).map { $0 - ackAt }
                == Nanos.ms(59_997))
    }

    // TR-1: the bare ACK does not refresh the per-peer cache (only tcp_time_wait() and the
    // FIN_WAIT2 → TIME_WAIT move call tcp_*remember_stamp). The ACK carried TSval X + 1000; a
    // SYN at X + 1 is within the window of the cached X and is answered; had the ACK refreshed
    // the cache it would be 999 behind and dropped (PAWSPassive).
    @Test func bareAckLeavesTheCacheAlone() {
        var (n, finAt) = Self.serverClosesFirst(.linux4_4)
        n.run(until: finAt + Nanos.ms(100))
        let x = Self.lastClientTS(n)
        let ack = Self.bareACK(n, tsval: x &+ 1000)
        n.call(1) { st, now, out in st.receive(ack, now: now, out: &out) }
        n.run(for: Nanos.ms(1))
        let before = n.hosts[1].counters
        n.call(1) { st, now, out in st.receive(Self.syn(tsval: x &+ 1), now: now, out: &out) }
        #expect(delta(n.hosts[1].counters, before, .pawsPassive) == 0)
        #expect(n.segments(from: 1) { $0.flags == [.syn, .ack] && $0.dport == 45000 }.count == 1)
    }

    // TR-1: entering the FIN_WAIT2 substate stores the peer's TSval too (tcp_time_wait() calls
    // tcp_remember_stamp for both substates): with the client never closing, a SYN 1000 ticks
    // behind is dropped. 2.6.32 counts only PAWSPassive; 3.10 and 4.x also ListenDrops (their
    // drop: label, CT-2).
    @Test(
        arguments: [
            (KernelProfile.linux2_6_32, 0), (KernelProfile.linux3_10, 1), (KernelProfile.linux4_4, 1),
            (KernelProfile.linux4_9, 1),
        ] as [(KernelProfile, Int64)])
    func finWait2SubstateRemembersTheStamp(profile: KernelProfile, listenDrops: Int64) {
        var (n, _) = Self.serverClosesFirst(profile, clientCloses: false)
        #expect(n.states(1)["FIN-WAIT-2"] == 1)
        let x = Self.lastClientTS(n)
        n.call(1) { st, now, out in st.receive(Self.syn(tsval: x &- 1000), now: now, out: &out) }
        #expect(n.hosts[1].counters[.pawsPassive] == 1)
        #expect(n.hosts[1].counters[.listenDrops] == listenDrops)
        #expect(n.segments(from: 1) { $0.flags == [.syn, .ack] && $0.dport == 45000 }.isEmpty)
    }

    // TR-3 by version: a SYN without a timestamp while the peer's entry is fresh. 2.6.32 and
    // 3.10 (tcp_v4_conn_request: `saw_tstamp && sysctl_tw_recycle && …`) skip the check and
    // answer; 4.x (tcp_conn_request → tcp_peer_is_proven(…, saw_tstamp)) drops it.
    @Test(
        arguments: [
            (KernelProfile.linux2_6_32, 0, 0), (KernelProfile.linux3_10, 0, 0),
            (KernelProfile.linux4_4, 1, 1),
            (KernelProfile.linux4_9, 1, 1),
        ] as [(KernelProfile, Int64, Int64)])
    func synWithoutTimestamp(profile: KernelProfile, pawsPassive: Int64, listenDrops: Int64) {
        var (n, _) = Self.serverClosesFirst(profile, clientCloses: false)
        n.call(1) { st, now, out in st.receive(Self.syn(tsval: nil), now: now, out: &out) }
        #expect(n.hosts[1].counters[.pawsPassive] == pawsPassive)
        #expect(n.hosts[1].counters[.listenDrops] == listenDrops)
        #expect(
            n.segments(from: 1) { $0.flags == [.syn, .ack] && $0.dport == 45000 }.count == 1
                - Int(pawsPassive))
    }

    // TR-6 / LQ-6 with tcp_tw_recycle=1 and SYNs without TS (cookies off, tcp_max_syn_backlog
    // 16, so the last quarter starts at qlen 13): on 2.6.32 and 3.10 they take the last-quarter
    // branch, 13 requests and 7 drops (counted as ListenDrops on 3.10 only); on 4.x the recycle
    // branch handles them and the last-quarter rule never runs: all 20 are requests.
    @Test(
        arguments: [
            (KernelProfile.linux2_6_32, 13, 0), (KernelProfile.linux3_10, 13, 7),
            (KernelProfile.linux4_4, 20, 0),
            (KernelProfile.linux4_9, 20, 0),
        ] as [(KernelProfile, Int, Int64)])
    func lastQuarterForSynsWithoutTimestamp(profile: KernelProfile, synRecv: Int, listenDrops: Int64) {
        var n = N.pair(
            server: [
                "net.ipv4.tcp_tw_recycle": "1", "net.ipv4.tcp_syncookies": "0",
                "net.ipv4.tcp_max_syn_backlog": "16",
            ], profile: profile)
        _ = n.listen()
        for k in 0..<20 {
            let s = bareSYN(
                from: IPv4Address(10, 77, 9, 9), port: 30000 + UInt16(k), to: N.server, port: 80, seq: 1)
            n.call(1) { st, now, out in st.receive(s, now: now, out: &out) }
        }
        #expect(n.states(1)["SYN-RECV"] == synRecv)
        #expect(n.hosts[1].counters[.listenDrops] == listenDrops)
        #expect(n.hosts[1].counters[.pawsPassive] == 0)
    }

    // LQ-4.2 / CT-2 by version, cookies off: a full SYN queue (≤4.3 the power-of-two table,
    // 16 slots for backlog 5, LQ-5) drops the other 4 of 20 SYNs. 2.6.32's tcp_v4_conn_request
    // returns at `drop:` without counting; 3.10 counts ListenDrops and TCPReqQFullDrop.
    @Test(
        arguments: [(KernelProfile.linux2_6_32, 0, 0), (KernelProfile.linux3_10, 4, 4)]
            as [(KernelProfile, Int64, Int64)])
    func synQueueFullDropCounters(profile: KernelProfile, listenDrops: Int64, reqQFullDrop: Int64) {
        var n = N.pair(server: ["net.ipv4.tcp_syncookies": "0"], profile: profile)
        _ = n.listen(backlog: 5)
        for k in 0..<20 {
            let s = bareSYN(
                from: IPv4Address(10, 77, 9, 9), port: 30000 + UInt16(k), to: N.server, port: 80, seq: 1)
            n.call(1) { st, now, out in st.receive(s, now: now, out: &out) }
        }
        #expect(n.states(1)["SYN-RECV"] == 16)
        #expect(n.hosts[1].counters[.listenDrops] == listenDrops)
        #expect(n.hosts[1].counters[.reqQFullDrop] == reqQFullDrop)
    }

    // TW-7 on the death row (≤4.2): the recycle calendar reaps a 3.5·RTO TIME_WAIT as TWKilled;
    // once a bare ACK has re-armed it to 60 s the 7.5-s wheel reaps it, as TW.
    @Test(arguments: [false, true])
    func deathRowCountsTheTimerItWasLastFiledIn(acked: Bool) {
        var (n, finAt) = Self.serverClosesFirst(.linux3_10)
        n.run(until: finAt + Nanos.ms(100))
        if acked {
            let ack = Self.bareACK(n, tsval: Self.lastClientTS(n) &+ 100)
            n.call(1) { st, now, out in st.receive(ack, now: now, out: &out) }
        }
        n.run(for: Nanos.s(70))
        #expect(n.states(1)["TIME-WAIT"] == nil)
        #expect(n.hosts[1].counters[.twKilled] == (acked ? 0 : 1))
        #expect(n.hosts[1].counters[.tw] == (acked ? 1 : 0))
    }
}
