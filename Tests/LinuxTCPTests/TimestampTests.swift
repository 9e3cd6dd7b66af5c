import LinuxTCP
import Testing

/// TCP timestamps: negotiation (TS-2) and the per-4-tuple offset (TS-3) against e20/e21/x1.
@Suite struct TimestampTests {
    typealias N = SpecNet

    // TS-2 / e21: TS is used iff both ends enable it: cli 1/srv 1 → yes; 1/0 → no; 0/1 → no;
    // 2/1 → yes.
    @Test(arguments: [(1, 1, true), (1, 0, false), (0, 1, false), (2, 1, true)])
    func ts2_negotiatedOnlyIfBothEnable(client: Int, server: Int, used: Bool) {
        var n = N.pair(
            client: ["net.ipv4.tcp_timestamps": "\(client)"],
            server: ["net.ipv4.tcp_timestamps": "\(server)"])
        let l = n.listen()
        let (c, s) = n.establish(listener: l)
        n.send(0, c, 100)
        n.send(1, s, 100)
        n.run(for: Nanos.ms(2))
        let synAck = n.segments(from: 1, where: { $0.flags == [.syn, .ack] }).first!.seg
        let cliData = n.segments(from: 0, where: { $0.length > 0 }).first!.seg
        let srvData = n.segments(from: 1, where: { $0.length > 0 }).first!.seg
        #expect(synAck.hasTS == used)
        #expect(cliData.hasTS == used)
        #expect(srvData.hasTS == used)
    }

    static func clockMs(_ now: Nanos) -> UInt32 {
        UInt32(truncatingIfNeeded: (SpecNet.uptime + now) / 1_000_000)
    }

    /// TSval − TS clock of a SYN sent by host 0 at time `t` (its first SYN after `t`).
    static func synOffset(_ n: SpecNet, after t: Nanos) -> (port: UInt16, offset: UInt32)? {
        guard let s = n.segments(from: 0, where: { $0.flags == [.syn] }).first(where: { $0.time >= t }) else {
            return nil
        }
        return (s.seg.sport, s.seg.tsval &- clockMs(s.time))
    }

    // TS-3 / e20 / x1 (6.18.44): the offset is per 4-tuple and deterministic — the same 4-tuple
    // twice gives the same TSval − clock; different source ports give unrelated offsets.
    @Test func ts3_offsetPerFourTupleAndDeterministic() {
        var n = SpecNet([SpecNet.stack(N.client, seed: 21)])
        let bind = BindRequest(address: N.client, port: 45000, noPort: false, reuseAddress: true)
        var offsets: [UInt32] = []
        for t in [Nanos.ms(5), Nanos.s(1.234), Nanos.s(7.5)] {
            n.run(until: t)
            guard case .success(let h) = n.connect(0, to: N.server, port: 9001, bind: bind) else {
                Issue.record("connect failed")
                return
            }
            offsets.append(Self.synOffset(n, after: t)!.offset)
            n.close(0, h)  // SYN_SENT close: no packet, port released
        }
        #expect(Set(offsets).count == 1, "same 4-tuple, same offset: \(offsets)")
        var perPort: [UInt16: UInt32] = [:]
        for k in 0..<6 {
            let t = Nanos.s(10) + Nanos(k) * Nanos.ms(200)
            n.run(until: t)
            guard case .success(let h) = n.connect(0, to: N.server, port: 9001) else {
                Issue.record("connect failed")
                return
            }
            let o = Self.synOffset(n, after: t)!
            perPort[o.port] = o.offset
            n.close(0, h)
        }
        #expect(perPort.count == 6)
        #expect(Set(perPort.values).count == 6, "x1: TSvals jump at random between source ports")
    }

    // TS-1 / TS-3 / e20: tcp_timestamps=2 → no offset: TSval = CLOCK_MONOTONIC in ms.
    @Test func ts3_timestamps2_hasNoOffset() {
        var n = SpecNet([SpecNet.stack(N.client, seed: 22, ["net.ipv4.tcp_timestamps": "2"])])
        for k in 0..<4 {
            let t = Nanos.ms(3) + Nanos(k) * Nanos.ms(210)
            n.run(until: t)
            guard case .success(let h) = n.connect(0, to: N.server, port: 9001) else {
                Issue.record("connect failed")
                return
            }
            #expect(Self.synOffset(n, after: t)?.offset == 0)
            n.close(0, h)
        }
    }
}
