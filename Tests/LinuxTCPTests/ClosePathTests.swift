import LinuxTCP
import Testing

/// Close paths (kernel-spec §4, CL-*) against the e16/e19 evidence.
@Suite struct ClosePathTests {
    typealias N = SpecNet

    // CL-2 / e16: the server sends 13 bytes, the client never reads and close()s → RST, no FIN,
    // no TW; client TCPAbortOnClose +1, OutRsts +1, EstabResets +1; server EstabResets +1 and
    // ECONNRESET. (Model: a socket whose app id is 0 never reads; apps always read.)
    @Test func cl2_closeWithUnreadData_sendsRst() {
        var n = N.pair()
        let l = n.listen()
        guard
            case .success(let c) = n.call(
                0,
                { st, now, out in
                    st.connect(to: N.server, port: 80, app: 0, now: now, out: &out)
                })
        else {
            Issue.record("connect failed")
            return
        }
        n.run(for: Nanos.ms(1))
        guard let s = n.accept(listener: l) else {
            Issue.record("no child")
            return
        }
        n.send(1, s, 13)
        n.run(for: Nanos.ms(1))
        n.close(0, c)
        n.run(for: Nanos.ms(5))
        let cli = n.hosts[0].counters
        let srv = n.hosts[1].counters
        #expect(cli[.abortOnClose] == 1)
        #expect(cli[.outRsts] == 1)
        #expect(cli[.estabResets] == 1)
        #expect(cli[.abortOnData] == 0)
        #expect(srv[.estabResets] == 1)
        #expect(n.segments(from: 0, where: { $0.flags.contains(.fin) }).isEmpty)
        #expect(n.firstEvent(1, .failed)?.event.errno == .ECONNRESET)
        #expect(n.hosts[0].timeWaitCount == 0 && n.hosts[1].timeWaitCount == 0)
        #expect(n.states(0).isEmpty)
        #expect(n.states(1) == ["LISTEN": 1])
    }

    // CL-3 / e16 / lab-notes j: SO_LINGER{1,0} close() → RST, TCPAbortOnData +1 (not
    // TCPAbortOnClose), OutRsts +1, EstabResets +1; peer ECONNRESET; no TW anywhere.
    @Test func cl3_linger0_rstAbortOnData_noTimeWait() {
        var n = N.pair()
        let l = n.listen()
        let (c, _) = n.establish(listener: l)
        n.run(for: Nanos.ms(1))
        n.close(0, c, linger0: true)
        n.run(for: Nanos.ms(5))
        let cli = n.hosts[0].counters
        #expect(cli[.abortOnData] == 1)
        #expect(cli[.abortOnClose] == 0)
        #expect(cli[.outRsts] == 1)
        #expect(cli[.estabResets] == 1)
        #expect(cli[.tw] == 0 && cli[.twKilled] == 0)
        #expect(n.hosts[1].counters[.estabResets] == 1)
        #expect(n.firstEvent(1, .failed)?.event.errno == .ECONNRESET)
        #expect(n.hosts[0].timeWaitCount == 0 && n.hosts[1].timeWaitCount == 0)
        #expect(n.states(0).isEmpty)
        #expect(n.states(1) == ["LISTEN": 1])
    }

    // CL-3 / e16 "shutdown(WR)+linger0": the RST follows the earlier FIN: client TCPAbortOnData
    // +1, OutRsts +1 (no EstabResets: FIN_WAIT2); server EstabResets +1 (CLOSE_WAIT), peer read EOF first.
    @Test func cl3_shutdownWrThenLinger0() {
        var n = N.pair()
        let l = n.listen()
        let (c, _) = n.establish(listener: l)
        n.run(for: Nanos.ms(1))
        n.send(0, c, 0, fin: true)
        n.run(for: Nanos.ms(2))
        #expect(n.states(0) == ["FIN-WAIT-2": 1])
        n.close(0, c, linger0: true)
        n.run(for: Nanos.ms(5))
        let cli = n.hosts[0].counters
        #expect(cli[.abortOnData] == 1)
        #expect(cli[.outRsts] == 1)
        #expect(cli[.estabResets] == 0)
        #expect(n.hosts[1].counters[.estabResets] == 1)
        #expect(n.firstEvent(1, .eof) != nil)
        #expect(n.states(0).isEmpty)
        #expect(n.states(1) == ["LISTEN": 1])
    }

    // CL-6 / e19: LAST_ACK toward a silent peer. FIN at 0.0 0.2 0.4 0.8 1.7 3.3 6.7 13.3 26.4
    // 52.7 s (0.2·2^k, timer-wheel late by a few %), socket gone after ≈106 s (deadline
    // (2^9−1)·0.2 = 102.2 s), TCPAbortOnTimeout +1, RetransSegs +9, TCPTimeouts +9, no RST.
    @Test func cl6_lastAckFinRetransmissionsAndOrphanGiveUp() {
        var n = N.pair()
        let l = n.listen()
        let (c, s) = n.establish(listener: l)
        n.run(for: Nanos.ms(1))
        n.close(0, c)
        n.run(for: Nanos.ms(2))
        n.drop = { $0.from == 0 }  // the server hears nothing from the client from now on
        let before = n.hosts[1].counters
        let t0 = n.now
        n.close(1, s)
        #expect(n.states(1) == ["LAST-ACK": 1, "LISTEN": 1])
        n.run(until: t0 + Nanos.s(102.1))
        #expect(n.states(1)["LAST-ACK"] == 1, "alive until the 102.2 s deadline")
        var gone: Nanos? = nil
        var t = n.now
        while t <= t0 + Nanos.s(110) {
            n.run(until: t)
            if n.states(1)["LAST-ACK"] == nil {
                gone = t - t0
                break
            }
            t += Nanos.ms(10)
        }
        let fins = n.segments(from: 1, where: { $0.flags.contains(.fin) }).map { $0.time - t0 }
        let nominal: [Double] = [0, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2]
        #expect(
            fins.count == nominal.count, "FIN tx at \(fins.map { ($0.secondsValue * 1000).rounded() / 1000 })"
        )
        for (k, (f, want)) in zip(fins, nominal).enumerated() {
            #expect(
                f >= Nanos.s(want) && f <= Nanos.s(want * 1.08 + 0.03),
                "FIN #\(k) at \(f.secondsValue) s, kernel ≈\(want) s")
        }
        #expect(gone != nil)
        if let g = gone {
            #expect(g >= Nanos.s(102.2) && g <= Nanos.s(107), "gone after \(g.secondsValue) s")
        }
        let after = n.hosts[1].counters
        #expect(delta(after, before, .abortOnTimeout) == 1)
        #expect(delta(after, before, .retransSegs) == 9)
        #expect(delta(after, before, .timeouts) == 9)
        #expect(delta(after, before, .outRsts) == 0)
    }
}
