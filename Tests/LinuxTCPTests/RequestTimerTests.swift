import LinuxTCP
import Testing

/// The request (SYN_RECV) timer, `reqsk_timer_handler` (LQ-9, checklist 28), and retransmitted
/// SYNs meeting a request (`tcp_check_req`). The server stands alone: its SYN-ACKs have no route
/// and are lost, as when the client drops them.
///
/// Times are exact model times. Every host has one day of uptime (21,600,000 jiffies at HZ=250:
/// a multiple of 64 jiffies, 256 off a multiple of 512), so a 1 s timer armed in the first 24 ms
/// lands on jiffy 256 (1.024 s); 2 s timers round to 8 jiffies, 4–16 s ones to 64, 32 s ones to
/// 512 (timer wheel levels 1–3, TimerWheel.swift).
@Suite struct RequestTimerTests {
    typealias N = SpecNet

    static func server(_ sysctls: [String: String] = [:]) -> SpecNet {
        SpecNet([SpecNet.stack(N.server, seed: 21, sysctls)])
    }

    /// `count` SYNs from distinct client ports, all at the current time (hping3 -S).
    static func flood(_ n: inout SpecNet, port: UInt16, count: Int, firstPort: UInt16 = 10000) {
        n.call(0) { st, now, out in
            for k in 0..<count {
                let syn = bareSYN(
                    from: N.client, port: firstPort + UInt16(k), to: N.server, port: port,
                    seq: UInt32(truncatingIfNeeded: k &* 2_654_435_761))
                st.receive(syn, now: now, out: &out)
            }
        }
    }

    static func synRecv(_ n: SpecNet) -> Int { n.states(0)["SYN-RECV"] ?? 0 }

    static func synAckTimes(_ n: SpecNet, port: UInt16) -> [Nanos] {
        n.segments(from: 0, where: { $0.flags == [.syn, .ack] && $0.sport == port }).map(\.time)
    }

    // (a) lab-notes "Further observations" 2 / checklist 28: listen(128), syncookies=0,
    // tcp_max_syn_backlog=2048, 200 unanswered SYNs at t=0. 129 requests (LQ-4), 71 dropped.
    //   1st expiry (1.024 s): every request still counts as young while the round goes, the
    //     limit is at least 2 > num_timeout = 0: all 129 SYN-ACKs are retransmitted.
    //   2nd expiry (3.04 s): young = 0 and 2·129 > max(8, 128), so the limit is pruned to 2;
    //     num_timeout = 1 < 2: all retransmitted again, next timeout 4 s.
    //   3rd expiry (7.168 s): num_timeout = 2 ≥ 2: requests are dropped while 2·qlen > 128,
    //     i.e. 65 of them; at qlen = 64 the limit is back to 5 and the other 64 stay.
    //   The 64 then follow the plain schedule (15.36, 31.488 s) and expire at 64.512 s.
    // So SYN-RECV holds 129 until the 3rd expiry (≈7.0–7.3 s after the flood on 6.18, as e15's
    // 7.27 s) and falls to exactly 64 = max(8, backlog)/2 within that timer-wheel bucket.
    @Test func a_unansweredFloodIsPrunedToHalfAtTheThirdExpiry() {
        var n = Self.server([
            "net.ipv4.tcp_syncookies": "0", "net.ipv4.tcp_max_syn_backlog": "2048",
            "net.core.somaxconn": "4096",
        ])
        _ = n.listen(0, port: 8080, backlog: 128)
        Self.flood(&n, port: 8080, count: 200)
        #expect(Self.synRecv(n) == 129)
        #expect(n.hosts[0].counters[.reqQFullDrop] == 71)

        n.run(until: Nanos.s(4.9))
        #expect(Self.synRecv(n) == 129)
        #expect(n.hosts[0].counters[.timeouts] == 258)
        #expect(n.hosts[0].counters[.synRetrans] == 258)
        #expect(n.hosts[0].counters[.retransSegs] == 258)

        n.run(until: Nanos.s(7.16))
        #expect(Self.synRecv(n) == 129)
        n.run(until: Nanos.s(7.17))
        #expect(Self.synRecv(n) == 64)
        #expect(n.hosts[0].counters[.timeouts] == 258 + 129)
        #expect(n.hosts[0].counters[.synRetrans] == 258 + 64)

        // The pruned round happened in one timer-wheel bucket.
        let third = Self.synAckTimes(n, port: 8080).filter { $0 > Nanos.s(5) }
        #expect(third.count == 64 && Set(third) == [Nanos.ms(7168)])

        n.run(until: Nanos.s(64.5))
        #expect(Self.synRecv(n) == 64)
        n.run(until: Nanos.s(64.52))
        #expect(Self.synRecv(n) == 0)
        // 65 requests: 3 expiries, 2 retransmissions; 64: 6 expiries, 5 retransmissions.
        #expect(n.hosts[0].counters[.timeouts] == 65 * 3 + 64 * 6)
        #expect(n.hosts[0].counters[.synRetrans] == 65 * 2 + 64 * 5)
        #expect(n.hosts[0].counters[.retransSegs] == 65 * 2 + 64 * 5)
        #expect(n.hosts[0].counters[.outRsts] == 0, "dropped silently")
    }

    // The pruning threshold scales with the backlog: a full SYN queue of backlog+1 unanswered
    // requests keeps max(8, backlog)/2 after the 3rd expiry (floor 2 retries), except when
    // 2·qlen never exceeds max(8, backlog) (listen(0), listen(3): 1 and 4 requests stay).
    @Test(arguments: [(0, 1), (3, 4), (4, 4), (16, 8), (100, 50), (128, 64), (511, 255)])
    func a2_prunedSurvivorsFollowTheBacklog(backlog: Int, survivors: Int) {
        var n = Self.server(["net.ipv4.tcp_syncookies": "0", "net.ipv4.tcp_max_syn_backlog": "4096"])
        _ = n.listen(0, port: 8080, backlog: backlog)
        Self.flood(&n, port: 8080, count: backlog + 1)
        #expect(Self.synRecv(n) == backlog + 1)
        n.run(until: Nanos.s(7.1))
        #expect(Self.synRecv(n) == backlog + 1)
        n.run(until: Nanos.s(7.5))
        #expect(Self.synRecv(n) == survivors)
    }

    // Young requests shelter old ones: 100 old requests (t=0) and 29 new ones (t=6.5 s, not yet
    // expired at 7.168 s) in listen(128). At the old ones' 3rd expiry qlen = 129 and young = 29
    // → limit 3 (129 ≥ 58, 129 ≥ 116, 129 < 232), so none is dropped. The new ones reach their
    // own 3rd expiry at 13.568 s with young = 0 → limit 2: all 29 go (qlen stays above 64). At
    // the old ones' 4th expiry (15.36 s), limit 2 again: 36 go, 64 stay.
    @Test func a3_youngRequestsShelterOldOnes() {
        var n = Self.server(["net.ipv4.tcp_syncookies": "0"])
        _ = n.listen(0, port: 8080, backlog: 128)
        Self.flood(&n, port: 8080, count: 100)
        n.run(until: Nanos.s(6.5))
        Self.flood(&n, port: 8080, count: 29, firstPort: 20000)
        n.run(until: Nanos.s(7.5))
        #expect(Self.synRecv(n) == 129)
        n.run(until: Nanos.s(13.56))
        #expect(Self.synRecv(n) == 129)
        n.run(until: Nanos.s(13.57))
        #expect(Self.synRecv(n) == 100)
        n.run(until: Nanos.s(15.35))
        #expect(Self.synRecv(n) == 100)
        n.run(until: Nanos.s(15.37))
        #expect(Self.synRecv(n) == 64)
    }

    // (b) No pressure: one request gets the full LQ-9 / e15 schedule, 5 retransmissions at
    // nominal 1, 3, 7, 15, 31 s (model: 1.024, 3.04, 7.168, 15.36, 31.488 s), and is dropped
    // silently at its 6th expiry (64.512 s; e15: ≈64.9 s).
    @Test func b_singleRequestFullSchedule() {
        var n = Self.server()
        _ = n.listen(0, port: 80, backlog: 128)
        Self.flood(&n, port: 80, count: 1)
        n.run(until: Nanos.s(64.5))
        #expect(Self.synRecv(n) == 1)
        let sa = Self.synAckTimes(n, port: 80)
        #expect(sa == [0, Nanos.ms(1024), Nanos.ms(3040), Nanos.ms(7168), Nanos.ms(15360), Nanos.ms(31488)])
        n.run(until: Nanos.s(64.52))
        #expect(Self.synRecv(n) == 0)
        let c = n.hosts[0].counters
        #expect(c[.timeouts] == 6)
        #expect(c[.synRetrans] == 5)
        #expect(c[.retransSegs] == 5)
        #expect(c[.outRsts] == 0)
    }

    // (c) tcp_check_req: a retransmitted SYN (same ISN) matching a request is answered at once
    // with a SYN-ACK retransmission (TCPSynRetrans, TcpRetransSegs), at most one answer per
    // 500 ms (TCPACKSkippedSynRecv otherwise), and restarts the request timer from now with the
    // current backoff (num_timeout unchanged). The first SYN-ACK does not start the rate limit.
    @Test func c_retransmittedSynGetsRateLimitedSynAckAndRestartsTimer() {
        var n = Self.server()
        _ = n.listen(0, port: 80, backlog: 128)
        let syn = bareSYN(from: N.client, port: 40000, to: N.server, port: 80, seq: 1000)
        func send(_ s: Segment, at t: Nanos) {
            n.run(until: t)
            n.call(0) { st, now, out in st.receive(s, now: now, out: &out) }
        }
        send(syn, at: 0)
        send(syn, at: Nanos.ms(300))  // answered: nothing stamped the rate limit yet
        send(syn, at: Nanos.ms(500))  // 200 ms later: skipped
        send(syn, at: Nanos.ms(900))  // 600 ms after the last answer: answered
        n.run(until: Nanos.s(1.5))
        var sa = Self.synAckTimes(n, port: 80)
        // No expiry at 1.024 s: the timer was pushed to 0.9 + 1 s (jiffy 480 = 1.92 s).
        #expect(sa == [0, Nanos.ms(300), Nanos.ms(900)])
        var c = n.hosts[0].counters
        #expect(c[.ackSkippedSynRecv] == 1)
        #expect(c[.synRetrans] == 2)
        #expect(c[.retransSegs] == 2)
        #expect(c[.timeouts] == 0)

        // The timer fires at 1.92 s (num_timeout 0 → 1), then backs off 2 s from there.
        n.run(until: Nanos.s(4))
        sa = Self.synAckTimes(n, port: 80)
        #expect(sa == [0, Nanos.ms(300), Nanos.ms(900), Nanos.ms(1920), Nanos.ms(3936)])
        c = n.hosts[0].counters
        #expect(c[.timeouts] == 2)
        #expect(c[.synRetrans] == 4)

        // A SYN now restarts the timer with the current backoff, 1 s << 2 = 4 s: 4.5 s + 4 s
        // (jiffy 1125 + 1000 → 2176, 8.704 s) instead of 3.936 + 4 s (7.936 s).
        send(syn, at: Nanos.s(4.5))
        n.run(until: Nanos.s(9))
        sa = Self.synAckTimes(n, port: 80)
        #expect(sa.suffix(2) == [Nanos.ms(4500), Nanos.ms(8704)])
        #expect(n.hosts[0].counters[.synRetrans] == 6)
        #expect(n.hosts[0].counters[.timeouts] == 3)
    }

    // A SYN with another ISN (or one PAWS rejects) is not a retransmission: it gets the
    // request's rate-limited out-of-window ACK (seq = ISS + 1, ack = rcv_nxt), no SYN-ACK.
    @Test func c2_otherSynGetsRateLimitedAck() {
        var n = Self.server()
        _ = n.listen(0, port: 80, backlog: 128)
        n.call(0) { st, now, out in
            st.receive(
                bareSYN(from: N.client, port: 40000, to: N.server, port: 80, seq: 1000), now: now, out: &out)
        }
        let iss = n.segments(from: 0, where: { $0.flags == [.syn, .ack] })[0].seg.seq
        n.run(until: Nanos.ms(100))
        for ms in [100, 200] as [Int64] {
            n.run(until: Nanos.ms(ms))
            n.call(0) { st, now, out in
                st.receive(
                    bareSYN(from: N.client, port: 40000, to: N.server, port: 80, seq: 777_777), now: now,
                    out: &out)
            }
        }
        let acks = n.segments(from: 0, where: { $0.flags == [.ack] })
        #expect(acks.count == 1)
        #expect(acks.first?.seg.seq == iss &+ 1 && acks.first?.seg.ack == 1001)
        #expect(Self.synAckTimes(n, port: 80).count == 1)
        #expect(n.hosts[0].counters[.ackSkippedSynRecv] == 1)
        #expect(n.hosts[0].counters[.synRetrans] == 0)
        #expect(Self.synRecv(n) == 1)
    }

    // A real client whose first SYN-ACK is lost: around 1 s its retransmitted SYN and the
    // request timer both bring a SYN-ACK, and the handshake completes.
    @Test func c3_clientSynRetransmissionCompletesHandshake() {
        var n = N.pair()
        let l = n.listen(port: 80, backlog: 128)
        n.drop = { $0.from == 1 && $0.seg.flags == [.syn, .ack] && $0.time < Nanos.ms(500) }
        #expect(n.connect(port: 80).failure == nil)
        n.run(until: Nanos.s(2))
        #expect(n.states(0) == ["ESTAB": 1])
        #expect(n.accept(listener: l) != nil)
        #expect(n.hosts[1].counters[.synRetrans] >= 1)
        #expect(n.hosts[1].counters[.passiveOpens] == 1)
    }
}
