/// A Linux NAT gateway masquerading its inside hosts (`nft ... masquerade to :LOW-HIGH`):
/// conntrack tracks every forwarded TCP packet and SNAT picks the source port of each new flow.
///
/// Pure and deterministic like `HostStack`: the engine hands it packets with the current time;
/// its only randomness (`get_random_u16()` in SNAT) comes from a seeded SplitMix64.
///
/// - NAT-1: entries live by conntrack's timeouts (TIME_WAIT from the gateway's
///   `net.netfilter.nf_conntrack_tcp_timeout_time_wait`, 120 s by default; RST -> CLOSE, 10 s).
/// - NAT-2: SNAT never maps a new flow onto a tuple an entry still holds, TIME_WAIT included;
///   in its last attempts it may evict a TIME_WAIT/CLOSE entry whose sequence numbers the new
///   SYN has passed (6.x). With no tuple left the SYN is dropped (`insert_failed`).
/// - NAT-3: a SYN on an entry in TIME_WAIT or CLOSE reopens it as a new flow.
public struct NATGateway: Sendable {
    /// The address translated flows leave from (masquerade: the outgoing interface's).
    public let address: IPv4Address
    /// `masquerade to :LOW-HIGH`; nil keeps the source port when it is free.
    public let ports: ClosedRange<UInt16>?
    public internal(set) var conntrack: ConntrackTable
    var rng: SplitMix64

    /// `NF_NAT_MAX_ATTEMPTS`: at most this many ports are tried per round.
    static let maxAttempts = 128
    /// `NF_NAT_HARDER_THRESH`: the last this-many attempts may evict a closing entry.
    static let harderThreshold = maxAttempts / 4

    public enum Verdict: Sendable, Equatable {
        /// Send this (possibly translated) segment on.
        case forward(Segment)
        /// Dropped at the gateway.
        case drop
    }

    public init(address: IPv4Address, ports: ClosedRange<UInt16>?, sysctls: Sysctls, seed: UInt64) {
        self.address = address
        self.ports = ports
        conntrack = ConntrackTable(timeouts: ConntrackTimeouts(sysctls))
        rng = SplitMix64(seed: seed)
    }

    public var stats: ConntrackStats { conntrack.stats }

    /// The live conntrack entry holding `t` in either direction (`conntrack -L`), if any.
    public mutating func entry(_ t: ConntrackTuple, now: Nanos) -> ConntrackEntry? {
        conntrack.entry(t, now: now)
    }

    // MARK: packets

    /// A segment from an inside host to the outside, as the gateway forwards it: tracked
    /// (PREROUTING), source-translated for a new flow (POSTROUTING) and confirmed.
    public mutating func outbound(_ seg: Segment, now: Nanos) -> Verdict {
        while true {
            if let (i, dir) = conntrack.lookup(ConntrackTuple(seg), now: now) {
                var e = conntrack.entries[Int(i)]
                let v = e.track(seg, dir: dir, timeouts: conntrack.timeouts, now: now)
                conntrack.entries[Int(i)] = e
                switch v {
                case .repeat:
                    conntrack.remove(i)  // NAT-3: reopened; look the SYN up again as new
                    continue
                case .invalid:
                    // -NF_ACCEPT: the packet leaves untracked, so masquerade does not apply.
                    conntrack.stats.invalid += 1
                    return .forward(seg)
                case .accept:
                    return .forward(translate(seg, e, dir))
                case .killed:
                    conntrack.remove(i)
                    return .forward(translate(seg, e, dir))
                }
            }
            return newFlow(seg, now: now)
        }
    }

    /// A segment from the outside to the gateway's address: matched to an entry's reply tuple
    /// and translated back to the inside host. Segments no entry claims, and invalid ones, are
    /// dropped (Linux would hand them to the gateway's own stack, which answers with RST).
    public mutating func inbound(_ seg: Segment, now: Nanos) -> Verdict {
        guard let (i, dir) = conntrack.lookup(ConntrackTuple(seg), now: now) else { return .drop }
        var e = conntrack.entries[Int(i)]
        let v = e.track(seg, dir: dir, timeouts: conntrack.timeouts, now: now)
        conntrack.entries[Int(i)] = e
        switch v {
        case .repeat:
            conntrack.remove(i)
            return .drop
        case .invalid:
            conntrack.stats.invalid += 1
            return .drop
        case .accept:
            return .forward(translate(seg, e, dir))
        case .killed:
            conntrack.remove(i)
            return .forward(translate(seg, e, dir))
        }
    }

    /// Rewrites the source (original direction) or destination (reply direction) of a
    /// source-NATed flow (`nf_nat_manip_pkt`).
    func translate(_ seg: Segment, _ e: ConntrackEntry, _ dir: ConntrackDirection) -> Segment {
        guard e.sourceNAT else { return seg }
        var s = seg
        if dir == .original {
            s.src = e.reply.dst
            s.sport = e.reply.dport
        } else {
            s.dst = e.original.src
            s.dport = e.original.sport
        }
        return s
    }

    /// A packet without an entry: `tcp_new()`, the tracker, `nf_nat_setup_info()` and
    /// `__nf_conntrack_confirm()`.
    mutating func newFlow(_ seg: Segment, now: Nanos) -> Verdict {
        guard var e = ConntrackEntry.start(seg) else {
            conntrack.stats.invalid += 1
            return .forward(seg)
        }
        switch e.track(seg, dir: .original, timeouts: conntrack.timeouts, now: now) {
        case .accept: break
        case .invalid, .repeat, .killed:
            conntrack.stats.invalid += 1
            return .forward(seg)
        }
        let mapped = uniqueTuple(for: e, now: now)
        if mapped != e.original {
            e.reply = mapped.inverted
            e.sourceNAT = true
        }
        guard conntrack.confirm(e, now: now) != nil else {
            // The chosen tuple is held: TCP has no clash resolution, the packet is dropped.
            conntrack.stats.insertFailed += 1
            conntrack.stats.drop += 1
            return .drop
        }
        return .forward(translate(seg, e, .original))
    }

    // MARK: SNAT (nf_nat_core.c)

    /// Whether `t`, as a translated original tuple, is inside the masquerade range.
    func inRange(_ t: ConntrackTuple) -> Bool {
        t.src == address && (ports?.contains(t.sport) ?? true)
    }

    /// `nf_nat_used_tuple()`: some other entry already owns the reply tuple of `t`.
    mutating func used(_ t: ConntrackTuple, now: Nanos) -> Bool { conntrack.taken(t.inverted, now: now) }

    /// `get_unique_tuple()` for SNAT with a masquerade range (one address, maybe a port range).
    ///
    /// 1. The original tuple if it is already in range and unused; otherwise the mapping an
    ///    existing flow from the same source address and port got (`find_appropriate_src`), if
    ///    that is unused toward this destination.
    /// 2. The gateway's address with the original port, if that port is in range and unused.
    /// 3. Otherwise `nf_nat_l4proto_unique_tuple()`.
    mutating func uniqueTuple(for e: ConntrackEntry, now: Nanos) -> ConntrackTuple {
        let orig = e.original
        if inRange(orig) {
            if !used(orig, now: now) { return orig }
        } else {
            for i in conntrack.entries(fromSource: orig.src, port: orig.sport, now: now) {
                let m = conntrack.entries[Int(i)].reply
                let candidate = ConntrackTuple(src: m.dst, sport: m.dport, dst: orig.dst, dport: orig.dport)
                if inRange(candidate) {
                    if !used(candidate, now: now) { return candidate }
                    break
                }
            }
        }
        var t = orig
        t.src = address
        if let r = ports {
            if r.contains(t.sport) && (r.count == 1 || !used(t, now: now)) { return t }
        } else if !used(t, now: now) {
            return t
        }
        return uniquePort(t, for: e, now: now)
    }

    /// `nf_nat_l4proto_unique_tuple()`: from a random offset, try consecutive ports of the range
    /// (at most 128). If none is free and the range is larger than the attempts, retry from a
    /// new random offset with half as many attempts, down to 16. Without a range the port keeps
    /// its class: 1–511, 600–1023 or 1024–65535. When nothing is free the last candidate is
    /// returned, and confirmation fails.
    mutating func uniquePort(_ base: ConntrackTuple, for e: ConntrackEntry, now: Nanos) -> ConntrackTuple {
        var t = base
        let low: Int
        let size: Int
        if let r = ports {
            low = Int(r.lowerBound)
            size = r.count
        } else if t.sport < 512 {
            (low, size) = (1, 511)
        } else if t.sport < 1024 {
            (low, size) = (600, 424)
        } else {
            (low, size) = (1024, 65536 - 1024)
        }
        var off = UInt16(truncatingIfNeeded: rng.next())
        var attempts = min(size, Self.maxAttempts)
        while true {
            for i in 0..<attempts {
                t.sport = UInt16(low + Int(off) % size)
                if !usedHarder(t, for: e, attemptsLeft: attempts - i, now: now) { return t }
                off &+= 1
            }
            if attempts >= size || attempts < 16 { return t }
            attempts /= 2
            off = UInt16(truncatingIfNeeded: rng.next())
        }
    }

    /// `nf_nat_used_tuple_harder()` (6.x): in the last `harderThreshold` attempts for a new
    /// SYN, a tuple held by a source-NATed entry in TIME_WAIT or CLOSE is freed by evicting
    /// that entry, provided the new SYN's sequence is past everything the old flow's original
    /// side sent (`nf_seq_has_advanced`), so that late packets of the old flow are invalid.
    mutating func usedHarder(
        _ t: ConntrackTuple, for e: ConntrackEntry, attemptsLeft: Int, now: Nanos
    ) -> Bool {
        let reply = t.inverted
        if attemptsLeft > Self.harderThreshold || e.state != .synSent {
            return conntrack.taken(reply, now: now)
        }
        guard let (i, dir) = conntrack.lookup(reply, now: now) else { return false }
        if dir == .original { return true }
        let old = conntrack.entries[Int(i)]
        // nf_nat_may_kill(): TIME_WAIT or later, and source-NATed.
        guard old.state >= .timeWait, old.sourceNAT else { return true }
        guard Int32(bitPattern: e.originalEnd &- old.originalEnd) > 0 else { return true }
        conntrack.remove(i)
        conntrack.stats.evicted += 1
        return false
    }
}
