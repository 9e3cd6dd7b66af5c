import LinuxTCP
import Testing

/// Listen queues (LQ-1 … LQ-4) and the SYN-queue formulas of lab-notes l1–l10 / e13.
@Suite struct ListenQueueTests {
    typealias N = SpecNet

    // LQ-1/LQ-2/LQ-3/LQ-4.3 / e11: listen(4), 10 clients 20 ms apart, no accept → ss -lnt
    // "LISTEN 5 4"; 5 ESTAB queued, 5 clients stay SYN-SENT; ListenOverflows = ListenDrops = 5
    // at 0.5 s and 25 at 4.5 s (each SYN retransmission is counted).
    @Test func lq3_listen4_tenClients_noAccept() {
        var n = N.pair()
        _ = n.listen(port: 8091, backlog: 4)
        for k in 0..<10 {
            n.run(until: Nanos(k) * Nanos.ms(20))
            #expect(n.connect(port: 8091).failure == nil)
        }
        n.run(until: Nanos.ms(500))
        let l = n.hosts[1].summary().listeners
        #expect(l.count == 1 && l[0].recvQ == 5 && l[0].sendQ == 4, "\(l)")
        #expect(n.states(1) == ["ESTAB": 5, "LISTEN": 1])
        #expect(n.states(0) == ["ESTAB": 5, "SYN-SENT": 5])
        #expect(n.hosts[1].counters[.listenOverflows] == 5)
        #expect(n.hosts[1].counters[.listenDrops] == 5)
        n.run(until: Nanos.s(4.5))
        #expect(n.hosts[1].counters[.listenOverflows] == 25)
        #expect(n.hosts[1].counters[.listenDrops] == 25)
        #expect(n.states(0) == ["ESTAB": 5, "SYN-SENT": 5])
    }

    // LQ-1 / l6: listen(511) with somaxconn=128 → ss Send-Q 128.
    @Test func lq1_backlogClampedToSomaxconn() {
        var st = SpecNet.stack(N.server, seed: 1, ["net.core.somaxconn": "128"])
        _ = st.listen(port: 80, backlog: 511, app: 2)
        #expect(st.summary().listeners.map(\.sendQ) == [128])
    }

    /// e12b: listen(4), 3 children queued unaccepted; 5 more SYNs whose final ACKs are lost.
    static func e12b(abort: Int) -> SpecNet {
        var n = N.pair(server: ["net.ipv4.tcp_abort_on_overflow": "\(abort)"])
        _ = n.listen(port: 9000, backlog: 4)
        for _ in 0..<3 {
            #expect(n.connect(port: 9000).failure == nil)
            n.run(for: Nanos.ms(1))
        }
        n.drop = { $0.from == 0 && $0.seg.flags == [.ack] }
        for _ in 0..<5 { #expect(n.connect(port: 9000).failure == nil) }
        n.run(for: Nanos.ms(5))
        #expect(n.states(1) == ["ESTAB": 3, "SYN-RECV": 5, "LISTEN": 1])
        n.drop = { _ in false }
        return n
    }

    // LQ-7 / e12b abort_on_overflow=0: the final ACKs that find the accept queue full are
    // dropped and the requests kept; each SYN-ACK retransmission round retries them:
    // ESTAB 5 (queue full) + SYN-RECV 3, ListenOverflows 3 @1.6 s → 6 @4.2 s; client 8 ESTAB,
    // no error; after accept() of 5, the next round (~7 s) completes the other 3.
    @Test func lq7_finalAckOverflow_abort0_requestsKeptAndRetried() {
        var n = Self.e12b(abort: 0)
        n.run(until: Nanos.s(1.6))
        #expect(n.states(1) == ["ESTAB": 5, "SYN-RECV": 3, "LISTEN": 1])
        #expect(n.hosts[1].counters[.listenOverflows] == 3)
        #expect(n.hosts[1].summary().listeners.map(\.recvQ) == [5])
        n.run(until: Nanos.s(4.2))
        #expect(n.hosts[1].counters[.listenOverflows] == 6)
        #expect(n.hosts[1].counters[.listenDrops] == 6)
        #expect(n.states(0) == ["ESTAB": 8])
        #expect(n.events.filter { $0.host == 0 && $0.event.kind == .failed }.isEmpty)
        for _ in 0..<5 { #expect(n.accept(listener: 0) != nil) }
        n.run(until: Nanos.s(7.6))
        #expect(n.states(1) == ["ESTAB": 8, "LISTEN": 1])
        #expect(n.hosts[1].counters[.outRsts] == 0)
    }

    // LQ-7 / e12b abort_on_overflow=1: ListenOverflows 3, EmbryonicRsts 3, OutRsts 3; the
    // client sees ECONNRESET ×3.
    @Test func lq7_finalAckOverflow_abort1_resets() {
        var n = Self.e12b(abort: 1)
        n.run(until: Nanos.s(1.6))
        let c = n.hosts[1].counters
        #expect(c[.listenOverflows] == 3)
        #expect(c[.embryonicRsts] == 3)
        #expect(c[.outRsts] == 3)
        let resets = n.events.filter {
            $0.host == 0 && $0.event.kind == .failed && $0.event.errno == .ECONNRESET
        }
        #expect(resets.count == 3)
        #expect(n.states(1) == ["ESTAB": 5, "LISTEN": 1])
        #expect(n.states(0) == ["ESTAB": 5])
    }

    struct Flood: Sendable, CustomTestStringConvertible {
        var name: String
        var backlog: Int
        var somaxconn: Int
        var msb: Int
        var cookies: Int
        var syns: Int
        var proven = false
        var synRecv: Int
        var listenDrops: Int64
        var reqQFullDrop: Int64
        var doCookies: Int64 = 0
        var cookiesSent: Int64 = 0
        var testDescription: String { name }
    }

    // LQ-4 / e13 / lab-notes l1–l10: SYNs whose SYN-ACKs are lost; SYN-RECV count and counters.
    //   cookies off, unproven peer: min(min(backlog, somaxconn) + 1, msb − ⌊msb/4⌋ + 1)
    //   cookies off, proven peer (tcp_metrics RTT): min(backlog, somaxconn) + 1
    //   cookies on: min(backlog, somaxconn) + 1, the rest are cookies; tcp_syncookies=2: all cookies.
    @Test(arguments: [
        Flood(
            name: "e13 b128 msb2048 c0", backlog: 128, somaxconn: 4096, msb: 2048, cookies: 0, syns: 200,
            synRecv: 129, listenDrops: 71, reqQFullDrop: 71),
        Flood(
            name: "e13 b128 msb64 c0", backlog: 128, somaxconn: 4096, msb: 64, cookies: 0, syns: 200,
            synRecv: 49, listenDrops: 151, reqQFullDrop: 0),
        Flood(
            name: "e13 b128 msb2048 c1", backlog: 128, somaxconn: 4096, msb: 2048, cookies: 1, syns: 200,
            synRecv: 129, listenDrops: 0, reqQFullDrop: 0, doCookies: 71, cookiesSent: 71),
        Flood(
            name: "e13 b128 c2", backlog: 128, somaxconn: 4096, msb: 2048, cookies: 2, syns: 20,
            synRecv: 0, listenDrops: 0, reqQFullDrop: 0, doCookies: 20, cookiesSent: 20),
        Flood(
            name: "e13 b511 somaxconn128", backlog: 511, somaxconn: 128, msb: 2048, cookies: 0, syns: 600,
            synRecv: 129, listenDrops: 471, reqQFullDrop: 471),
        Flood(
            name: "e13 listen(0) c0", backlog: 0, somaxconn: 4096, msb: 2048, cookies: 0, syns: 5,
            synRecv: 1, listenDrops: 4, reqQFullDrop: 4),
        Flood(
            name: "e13 listen(0) c1", backlog: 0, somaxconn: 4096, msb: 2048, cookies: 1, syns: 5,
            synRecv: 1, listenDrops: 0, reqQFullDrop: 0, doCookies: 4, cookiesSent: 4),
        Flood(
            name: "l1", backlog: 128, somaxconn: 128, msb: 512, cookies: 0, syns: 2000,
            synRecv: 129, listenDrops: 1871, reqQFullDrop: 1871),
        Flood(
            name: "l2", backlog: 128, somaxconn: 4096, msb: 2048, cookies: 0, syns: 2000,
            synRecv: 129, listenDrops: 1871, reqQFullDrop: 1871),
        Flood(
            name: "l3", backlog: 1024, somaxconn: 1024, msb: 512, cookies: 0, syns: 2000,
            synRecv: 385, listenDrops: 1615, reqQFullDrop: 0),
        Flood(
            name: "l4", backlog: 1024, somaxconn: 1024, msb: 1024, cookies: 0, syns: 2000,
            synRecv: 769, listenDrops: 1231, reqQFullDrop: 0),
        Flood(
            name: "l5", backlog: 4096, somaxconn: 4096, msb: 128, cookies: 0, syns: 2000,
            synRecv: 97, listenDrops: 1903, reqQFullDrop: 0),
        Flood(
            name: "l6", backlog: 511, somaxconn: 128, msb: 512, cookies: 0, syns: 2000,
            synRecv: 129, listenDrops: 1871, reqQFullDrop: 1871),
        Flood(
            name: "l7", backlog: 0, somaxconn: 4096, msb: 2048, cookies: 0, syns: 500,
            synRecv: 1, listenDrops: 499, reqQFullDrop: 499),
        Flood(
            name: "l8 proven", backlog: 1024, somaxconn: 1024, msb: 512, cookies: 0, syns: 2000, proven: true,
            synRecv: 1025, listenDrops: 975, reqQFullDrop: 975),
        Flood(
            name: "l9", backlog: 128, somaxconn: 128, msb: 512, cookies: 1, syns: 2000,
            synRecv: 129, listenDrops: 0, reqQFullDrop: 0, doCookies: 1871, cookiesSent: 1871),
        Flood(
            name: "l10", backlog: 1024, somaxconn: 1024, msb: 128, cookies: 1, syns: 2000,
            synRecv: 1025, listenDrops: 0, reqQFullDrop: 0, doCookies: 975, cookiesSent: 975),
    ])
    func lq4_synQueueCaps(_ f: Flood) {
        flood(f, profile: .newest)
    }

    // LQ-6: up to 4.11 no peer is proven at the last-quarter test (its `dst` is still NULL
    // there), so l8's proven client is capped like an unproven one: msb − ⌊msb/4⌋ + 1 = 385.
    // 4.19 (qlen >= backlog: 1024 requests) honours the RTT metric as 6.18 does.
    @Test(arguments: [
        (KernelProfile.named("4.9")!, 385, 1615 as Int64, 0 as Int64),
        (KernelProfile.named("4.19")!, 1024, 976, 976),
    ])
    func lq6_provenPeersByVersion(
        profile: KernelProfile, synRecv: Int, listenDrops: Int64, reqQFullDrop: Int64
    ) {
        flood(
            Flood(
                name: "l8 proven on \(profile.name)", backlog: 1024, somaxconn: 1024, msb: 512, cookies: 0,
                syns: 2000, proven: true, synRecv: synRecv, listenDrops: listenDrops,
                reqQFullDrop: reqQFullDrop),
            profile: profile)
    }

    func flood(_ f: Flood, profile: KernelProfile) {
        var n = N.pair(
            server: [
                "net.core.somaxconn": "\(f.somaxconn)", "net.ipv4.tcp_max_syn_backlog": "\(f.msb)",
                "net.ipv4.tcp_syncookies": "\(f.cookies)",
            ], profile: profile)
        let l = n.listen(port: 8080, backlog: f.backlog)
        if f.proven {
            // l8: the client IP first completes one real connection (server gets an RTT metric).
            let (c, s) = n.establish(listener: l, port: 8080)
            n.run(for: Nanos.ms(1))
            n.close(0, c)
            n.run(for: Nanos.ms(2))
            n.close(1, s)
            n.run(for: Nanos.ms(5))
            #expect(n.states(1) == ["LISTEN": 1])
        }
        var st = n.hosts[1]
        let before = st.counters
        var t = n.now + Nanos.ms(10)
        var out = Effects()
        for k in 0..<f.syns {
            // hping3 -S -i u100: bare SYNs from the client address, SYN-ACKs dropped on the way back.
            let syn = bareSYN(
                from: N.client, port: UInt16(10000 + k), to: N.server, port: 8080,
                seq: UInt32(truncatingIfNeeded: k &* 2_654_435_761))
            st.receive(syn, now: t, out: &out)
            out.removeAll()
            t += 100 * Nanos.nanosPerMicro
        }
        let after = st.counters
        let synRecv = st.summary().states.first { $0.name == "SYN-RECV" }?.count ?? 0
        #expect(synRecv == f.synRecv)
        #expect(delta(after, before, .listenDrops) == f.listenDrops)
        #expect(delta(after, before, .reqQFullDrop) == f.reqQFullDrop)
        #expect(delta(after, before, .reqQFullDoCookies) == f.doCookies)
        #expect(delta(after, before, .syncookiesSent) == f.cookiesSent)
        #expect(delta(after, before, .listenOverflows) == 0)
        #expect(st.summary().listeners.map(\.sendQ) == [min(f.backlog, f.somaxconn)])
    }
}
