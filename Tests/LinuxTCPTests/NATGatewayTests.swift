import LinuxTCP
import Testing

/// Conntrack and SNAT on a masquerading gateway (kernel-spec §7, NAT-1..NAT-3), driven with
/// hand-made segments: an inside client, the gateway's outside address and a server.
@Suite struct NATGatewayTests {
    static let client = IPv4Address(10, 77, 1, 2)
    static let client2 = IPv4Address(10, 77, 2, 2)
    static let outside = IPv4Address(10, 78, 0, 1)
    static let server = IPv4Address(10, 78, 0, 2)
    static let s = Nanos.nanosPerSecond

    static func gateway(ports: ClosedRange<UInt16>?, timeWait: Int? = nil, seed: UInt64 = 1) -> NATGateway {
        var sysctls = KernelProfile.linux6_18.defaults
        if let t = timeWait { sysctls.conntrackTimeWaitSeconds = t }
        return NATGateway(address: outside, ports: ports, sysctls: sysctls, seed: seed)
    }

    static func seg(
        _ src: IPv4Address, _ sport: UInt16, _ dst: IPv4Address, _ dport: UInt16, _ flags: TCPFlags,
        seq: UInt32, ack: UInt32 = 0, length: UInt32 = 0
    ) -> Segment {
        Segment(
            src: src, dst: dst, sport: sport, dport: dport, flags: flags, seq: seq, ack: ack, length: length)
    }

    /// The SYN leaving through the gateway: its translated form, or nil when dropped.
    static func syn(
        _ g: inout NATGateway, from c: IPv4Address = client, sport: UInt16, isn: UInt32, at t: Nanos
    ) -> Segment? {
        guard case .forward(let out) = g.outbound(seg(c, sport, server, 80, [.syn], seq: isn), now: t) else {
            return nil
        }
        return out
    }

    /// One HTTP/1.0-like exchange where the server closes first, through the gateway: leaves
    /// the entry in conntrack TIME_WAIT. Returns the NAT port.
    @discardableResult
    static func flow(
        _ g: inout NATGateway, from c: IPv4Address = client, sport: UInt16, isn: UInt32, at t: Nanos
    ) -> UInt16 {
        let out = syn(&g, from: c, sport: sport, isn: isn, at: t)!
        let p = out.sport
        let sisn: UInt32 = 7_000_000
        func inb(_ f: TCPFlags, _ sq: UInt32, _ ak: UInt32, len: UInt32 = 0, dt: Nanos) {
            let v = g.inbound(seg(server, 80, outside, p, f, seq: sq, ack: ak, length: len), now: t + dt)
            #expect(v != .drop, "inbound \(f) dropped")
        }
        func outb(_ f: TCPFlags, _ sq: UInt32, _ ak: UInt32, len: UInt32 = 0, dt: Nanos) {
            let v = g.outbound(seg(c, sport, server, 80, f, seq: sq, ack: ak, length: len), now: t + dt)
            #expect(v != .drop, "outbound \(f) dropped")
        }
        inb([.syn, .ack], sisn, isn &+ 1, dt: 100_000)
        outb([.ack], isn &+ 1, sisn &+ 1, dt: 200_000)
        outb([.ack, .psh], isn &+ 1, sisn &+ 1, len: 78, dt: 200_000)
        inb([.ack, .psh, .fin], sisn &+ 1, isn &+ 79, len: 200, dt: 300_000)  // server closes first
        outb([.ack, .fin], isn &+ 79, sisn &+ 202, dt: 400_000)
        inb([.ack], sisn &+ 202, isn &+ 80, dt: 500_000)
        return p
    }

    static func entry(_ g: inout NATGateway, natPort: UInt16, at t: Nanos) -> ConntrackEntry? {
        g.entry(ConntrackTuple(src: server, sport: 80, dst: outside, dport: natPort), now: t)
    }

    // NAT-1: after both FINs and the last ACK the entry is in TIME_WAIT for 120 s.
    @Test func timeWaitLasts120sByDefault() {
        var g = Self.gateway(ports: 20000...20010)
        let p = Self.flow(&g, sport: 40000, isn: 1000, at: 0)
        let closed: Nanos = 500_000
        #expect(Self.entry(&g, natPort: p, at: closed)?.state == .timeWait)
        #expect(Self.entry(&g, natPort: p, at: closed + 120 * Self.s - 1)?.state == .timeWait)
        #expect(Self.entry(&g, natPort: p, at: closed + 120 * Self.s) == nil)
    }

    // NAT-1: net.netfilter.nf_conntrack_tcp_timeout_time_wait sets it (lab m3/m4: 1 s).
    @Test func timeWaitFollowsTheSysctl() {
        var g = Self.gateway(ports: 20000...20010, timeWait: 1)
        let p = Self.flow(&g, sport: 40000, isn: 1000, at: 0)
        #expect(Self.entry(&g, natPort: p, at: Self.s)?.state == .timeWait)
        #expect(Self.entry(&g, natPort: p, at: Self.s + 500_000) == nil)
    }

    // NAT-1: an RST moves the entry to CLOSE, which lasts 10 s.
    @Test func resetMovesToCloseFor10s() {
        var g = Self.gateway(ports: 20000...20010)
        let p = Self.syn(&g, sport: 40000, isn: 1000, at: 0)!.sport
        _ = g.inbound(
            Self.seg(Self.server, 80, Self.outside, p, [.syn, .ack], seq: 5, ack: 1001), now: 100_000)
        _ = g.outbound(Self.seg(Self.client, 40000, Self.server, 80, [.ack], seq: 1001, ack: 6), now: 200_000)
        _ = g.outbound(Self.seg(Self.client, 40000, Self.server, 80, [.rst], seq: 1001), now: 300_000)
        #expect(Self.entry(&g, natPort: p, at: 300_000)?.state == .close)
        #expect(Self.entry(&g, natPort: p, at: 300_000 + 10 * Self.s - 1) != nil)
        #expect(Self.entry(&g, natPort: p, at: 300_000 + 10 * Self.s) == nil)
    }

    // nf_conntrack_tcp_packet(): IPS_SEEN_REPLY is set only after the tracker has run
    // (nf_conntrack_in), so a reply RST refusing the SYN finds no reply seen yet and kills the
    // entry at once ("if only reply is a RST ... delete the conntrack immediately"), instead of
    // leaving it 10 s in CLOSE: the NAT port is free for the next flow at once.
    @Test func replyResetToSynKillsTheEntry() {
        var g = Self.gateway(ports: 20000...20000)
        let p = Self.syn(&g, sport: 40000, isn: 1000, at: 0)!.sport
        #expect(p == 20000)
        let v = g.inbound(
            Self.seg(Self.server, 80, Self.outside, p, [.rst, .ack], seq: 0, ack: 1001), now: 100_000)
        #expect(
            v == .forward(Self.seg(Self.server, 80, Self.client, 40000, [.rst, .ack], seq: 0, ack: 1001)))
        #expect(Self.entry(&g, natPort: p, at: 100_000) == nil)
        // A new flow behind the old one's sequence gets the only port: nothing holds it.
        #expect(Self.syn(&g, sport: 40002, isn: 500, at: 200_000)?.sport == 20000)
        #expect(g.stats.insertFailed == 0)
        #expect(g.stats.evicted == 0)
    }

    // ASSURED needs a reply seen *before* the packet: a picked-up flow (loose=1, the original
    // side's ACK) is not assured by the first reply, whose timeout is capped at 300 s
    // (UNACKNOWLEDGED), but by the next original packet, which gets ESTABLISHED's 5 days.
    @Test func pickupIsAssuredOnlyAfterTheFirstReply() {
        var g = Self.gateway(ports: 20000...20010)
        guard
            case .forward(let out) = g.outbound(
                Self.seg(Self.client, 40000, Self.server, 80, [.ack], seq: 1000, ack: 5000), now: 0)
        else { return #expect(Bool(false), "pickup dropped") }
        let p = out.sport
        _ = g.inbound(Self.seg(Self.server, 80, Self.outside, p, [.ack], seq: 5000, ack: 1000), now: 100_000)
        var e = Self.entry(&g, natPort: p, at: 100_000)
        #expect(e?.seenReply == true)
        #expect(e?.assured == false)
        #expect(e?.expires == 100_000 + 300 * Self.s)
        _ = g.outbound(
            Self.seg(Self.client, 40000, Self.server, 80, [.ack], seq: 1000, ack: 5000), now: 200_000)
        e = Self.entry(&g, natPort: p, at: 200_000)
        #expect(e?.assured == true)
        #expect(e?.expires == 200_000 + 5 * 86_400 * Self.s)
    }

    // NAT-2: a tuple held by an entry in TIME_WAIT is never given to a new flow whose SYN is not
    // past the old flow's sequence numbers; with one port that means the SYN is dropped.
    @Test func timeWaitEntryHoldsItsTuple() {
        var g = Self.gateway(ports: 20000...20000)
        #expect(Self.flow(&g, sport: 40000, isn: 1_000_000, at: 0) == 20000)
        #expect(Self.syn(&g, sport: 40002, isn: 500, at: Self.s) == nil)
        #expect(g.stats.insertFailed == 1)
        #expect(g.stats.drop == 1)
        #expect(Self.entry(&g, natPort: 20000, at: Self.s)?.state == .timeWait)
    }

    // NAT-2 (6.x, nf_nat_used_tuple_harder): a SYN past the old sequence evicts the TIME_WAIT.
    @Test func newerSynEvictsTimeWaitEntry() {
        var g = Self.gateway(ports: 20000...20000)
        Self.flow(&g, sport: 40000, isn: 1_000_000, at: 0)
        let out = Self.syn(&g, sport: 40002, isn: 2_000_000, at: Self.s)
        #expect(out?.sport == 20000)
        #expect(out?.src == Self.outside)
        #expect(g.stats.evicted == 1)
        #expect(Self.entry(&g, natPort: 20000, at: Self.s)?.state == .synSent)
    }

    // NAT-2: with two ports and the first held in TIME_WAIT by a flow the new SYN is behind,
    // SNAT takes the other port, whatever the random start.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func picksAnotherPortWhileTimeWaitHoldsTheTuple(seed: UInt64) {
        var g = Self.gateway(ports: 20000...20001, seed: seed)
        let first = Self.flow(&g, sport: 40000, isn: 1_000_000, at: 0)
        let second = Self.syn(&g, sport: 40002, isn: 500, at: Self.s)
        #expect(second != nil)
        #expect(second?.sport != first)
        #expect(Self.entry(&g, natPort: first, at: Self.s)?.state == .timeWait)
    }

    // NAT-2 (en.py on 6.18): without a range the source port is kept when free; a second
    // inside host with the same source port gets another port in 1024–65535.
    @Test func keepsTheSourcePortWhenFree() {
        var g = Self.gateway(ports: nil)
        Self.flow(&g, sport: 50000, isn: 1000, at: 0)
        let c2 = Self.syn(&g, from: Self.client2, sport: 50000, isn: 5000, at: Self.s)
        #expect(c2 != nil)
        #expect(c2?.sport != 50000)
        #expect((1024...65535).contains(c2?.sport ?? 0))
        #expect(Self.entry(&g, natPort: 50000, at: Self.s)?.original.src == Self.client)
    }

    // The port range is respected, and once every tuple is held by a live flow new SYNs are
    // dropped (conntrack insert_failed), as m2 run 2 saw on 6.18.
    @Test func rangeIsRespectedAndExhaustionDrops() {
        var g = Self.gateway(ports: 20000...20010)
        var ports: Set<UInt16> = []
        var dropped = 0
        for k in 0..<40 {
            if let out = Self.syn(
                &g, sport: UInt16(40000 + 2 * k), isn: UInt32(1000 + k), at: Nanos(k) * 1000)
            {
                ports.insert(out.sport)
                #expect((20000...20010).contains(out.sport))
            } else {
                dropped += 1
            }
        }
        #expect(ports.count == 11)
        #expect(dropped == 29)
        #expect(g.stats.insertFailed == 29)
    }

    // NAT-3: a SYN on an entry in TIME_WAIT reopens it as a new flow, inside the 120 s.
    @Test func synReopensTimeWaitEntry() {
        var g = Self.gateway(ports: 20000...20000)
        Self.flow(&g, sport: 40000, isn: 1_000_000, at: 0)
        // Same client port again; the old entry is killed first, so even a SYN whose sequence
        // is behind the old flow gets the single port.
        let out = Self.syn(&g, sport: 40000, isn: 10, at: Self.s)
        #expect(out?.sport == 20000)
        #expect(g.stats.insertFailed == 0)
        #expect(Self.entry(&g, natPort: 20000, at: Self.s)?.state == .synSent)
    }

    // TW-13 through the NAT (lab m1): the server's TIME_WAIT answers the SYN with an ACK, which
    // conntrack lets through; the client's RST (seq = that ack) is accepted and moves the entry
    // to CLOSE; the SYN's retransmission reopens it.
    @Test func challengeAckResetAndRetry() {
        var g = Self.gateway(ports: 20000...20000)
        let p = Self.syn(&g, sport: 40000, isn: 9000, at: 0)!.sport
        let ack = g.inbound(
            Self.seg(Self.server, 80, Self.outside, p, [.ack], seq: 77, ack: 5555), now: 100_000)
        #expect(ack == .forward(Self.seg(Self.server, 80, Self.client, 40000, [.ack], seq: 77, ack: 5555)))
        #expect(Self.entry(&g, natPort: p, at: 100_000)?.state == .synSent)
        let rst = g.outbound(Self.seg(Self.client, 40000, Self.server, 80, [.rst], seq: 5555), now: 200_000)
        #expect(rst == .forward(Self.seg(Self.outside, p, Self.server, 80, [.rst], seq: 5555)))
        #expect(Self.entry(&g, natPort: p, at: 200_000)?.state == .close)
        let again = Self.syn(&g, sport: 40000, isn: 9000, at: 8_000_000)
        #expect(again?.sport == 20000)
        #expect(Self.entry(&g, natPort: 20000, at: 8_000_000)?.state == .synSent)
        #expect(g.stats.invalid == 0)
    }

    // Inbound segments no entry claims are dropped.
    @Test func unmatchedInboundIsDropped() {
        var g = Self.gateway(ports: 20000...20010)
        let v = g.inbound(Self.seg(Self.server, 80, Self.outside, 20005, [.ack], seq: 1, ack: 1), now: 0)
        #expect(v == .drop)
    }

    // Same seed, same choices.
    @Test func deterministic() {
        func run() -> [UInt16] {
            var g = Self.gateway(ports: 1024...1030, seed: 42)
            return (0..<7).map { Self.flow(&g, sport: UInt16(40000 + 2 * $0), isn: UInt32(1000 * $0), at: 0) }
        }
        #expect(run() == run())
    }
}
