/// One direction of a tracked TCP flow as netfilter keys it (`struct nf_conntrack_tuple`, with
/// the protocol fixed to TCP): source and destination address and port.
public struct ConntrackTuple: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public var src: IPv4Address
    public var sport: UInt16
    public var dst: IPv4Address
    public var dport: UInt16

    @inlinable public init(src: IPv4Address, sport: UInt16, dst: IPv4Address, dport: UInt16) {
        self.src = src
        self.sport = sport
        self.dst = dst
        self.dport = dport
    }

    /// The tuple a segment travels on.
    @inlinable public init(_ seg: Segment) {
        self.init(src: seg.src, sport: seg.sport, dst: seg.dst, dport: seg.dport)
    }

    /// The other direction (`nf_ct_invert_tuple`).
    @inlinable public var inverted: ConntrackTuple {
        ConntrackTuple(src: dst, sport: dport, dst: src, dport: sport)
    }

    public var description: String { "src=\(src) sport=\(sport) dst=\(dst) dport=\(dport)" }
}

/// Conntrack's TCP states (`enum tcp_conntrack`), in the kernel's order: the order matters,
/// since `nf_nat_may_kill()` evicts only entries at TIME_WAIT or later.
public enum ConntrackState: UInt8, Sendable, Comparable, CaseIterable {
    case none, synSent, synRecv, established, finWait, closeWait, lastAck, timeWait, close, synSent2

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// The name `conntrack -L` prints.
    public var name: String {
        switch self {
        case .none: "NONE"
        case .synSent: "SYN_SENT"
        case .synRecv: "SYN_RECV"
        case .established: "ESTABLISHED"
        case .finWait: "FIN_WAIT"
        case .closeWait: "CLOSE_WAIT"
        case .lastAck: "LAST_ACK"
        case .timeWait: "TIME_WAIT"
        case .close: "CLOSE"
        case .synSent2: "SYN_SENT2"
        }
    }
}

/// NAT-1: conntrack's own per-state timeouts (`tcp_timeouts[]` in nf_conntrack_proto_tcp.c,
/// the `net.netfilter.nf_conntrack_tcp_timeout_*` sysctls). They are not the TCP stack's:
/// conntrack's TIME_WAIT is 120 s against the endpoint's 60 s.
public struct ConntrackTimeouts: Sendable, Equatable {
    /// Indexed by `ConntrackState.rawValue`.
    public var byState: [Nanos]

    public init(timeWaitSeconds: Int = 120) {
        let s = Nanos.nanosPerSecond
        byState = [
            0, 120 * s, 60 * s, 5 * 86_400 * s, 120 * s, 60 * s, 30 * s,
            Nanos(timeWaitSeconds) * s, 10 * s, 120 * s,
        ]
    }

    /// The gateway's sysctls (only the TIME_WAIT one is tunable in a scenario).
    public init(_ sysctls: Sysctls) { self.init(timeWaitSeconds: sysctls.conntrackTimeWaitSeconds) }

    public subscript(_ s: ConntrackState) -> Nanos { byState[Int(s.rawValue)] }
}

/// `conntrack -S` statistics the model keeps.
public struct ConntrackStats: Sendable, Equatable {
    /// New flows whose (translated) tuple clashed with an existing entry at confirmation
    /// (`__nf_conntrack_confirm`): the packet is dropped. TCP has no clash resolution.
    public var insertFailed = 0
    /// Packets conntrack dropped (here: the insert failures).
    public var drop = 0
    /// Packets conntrack judged invalid (`-NF_ACCEPT`): they pass untracked, hence untranslated.
    public var invalid = 0
    /// TIME_WAIT/CLOSE entries evicted by SNAT to free a tuple (`nf_nat_used_tuple_harder`).
    /// Not a kernel statistic (`conntrack -S` has no such field), so ``nonZero`` leaves it out
    /// and reports do not show it; kept for tests.
    public var evicted = 0

    public init() {}

    /// Non-zero values under names that say they are conntrack's (`conntrack -S` fields).
    public var nonZero: [(name: String, value: Int)] {
        [
            ("ConntrackInsertFailed", insertFailed), ("ConntrackDrop", drop),
            ("ConntrackInvalid", invalid),
        ].filter { $0.1 != 0 }
    }
}

/// Direction of a packet relative to its conntrack entry (`enum ip_conntrack_dir`).
public enum ConntrackDirection: Int, Sendable {
    case original = 0
    case reply = 1
}

/// Window tracking of one direction (`struct ip_ct_tcp_state`).
struct TrackedWindow: Sendable, BitwiseCopyable {
    var tdEnd: UInt32 = 0
    var tdMaxEnd: UInt32 = 0
    var tdMaxWin: UInt32 = 0
    var tdMaxAck: UInt32 = 0
    var maxAckSet = false
    /// IP_CT_TCP_FLAG_CLOSE_INIT: this side sent the first FIN.
    var closeInit = false
    /// IP_CT_TCP_FLAG_BE_LIBERAL (set on mid-stream pickup).
    var liberal = false
}

/// What conntrack made of one packet.
enum TrackVerdict {
    /// Tracked: the packet passes and is translated by its entry.
    case accept
    /// `-NF_ACCEPT`: invalid for this entry; the packet passes untracked.
    case invalid
    /// `-NF_REPEAT`: a SYN reopened a closed entry, which is gone; look the packet up again.
    case `repeat`
    /// Tracked and translated, after which the entry is deleted (`nf_ct_kill_acct`): an RST
    /// while no reply had been seen before it, whichever side sent it; a reply RST refusing the
    /// SYN ends the entry this way instead of leaving it 10 s in CLOSE holding its NAT port.
    case killed
}

/// One conntrack entry (`struct nf_conn`, TCP part).
public struct ConntrackEntry: Sendable {
    public internal(set) var original: ConntrackTuple
    /// The reply tuple: after SNAT its destination is the gateway's address and NAT port.
    public internal(set) var reply: ConntrackTuple
    public internal(set) var state: ConntrackState = .none
    /// When the entry expires (`ct->timeout`); lookups treat it as gone from then on.
    public internal(set) var expires: Nanos = 0
    var seen = (TrackedWindow(), TrackedWindow())
    var lastIndex: PacketClass = .none
    var lastDir: ConntrackDirection = .original
    var lastEnd: UInt32 = 0
    var lastAck: UInt32 = 0
    /// IPS_SEEN_REPLY.
    public internal(set) var seenReply = false
    /// IPS_ASSURED.
    public internal(set) var assured = false
    /// IPS_SRC_NAT: the reply tuple was rewritten.
    public internal(set) var sourceNAT = false
    var live = true

    init(original: ConntrackTuple) {
        self.original = original
        self.reply = original.inverted
    }

    func window(_ d: ConntrackDirection) -> TrackedWindow { d == .original ? seen.0 : seen.1 }
    mutating func setWindow(_ d: ConntrackDirection, _ w: TrackedWindow) {
        if d == .original { seen.0 = w } else { seen.1 = w }
    }
    /// The highest sequence end seen from the original side (`seen[0].td_end`).
    public var originalEnd: UInt32 { seen.0.tdEnd }
}

/// Which flags a segment carries, as conntrack classifies them (`enum tcp_bit_set`).
enum PacketClass: Int, Sendable {
    case syn = 0, synAck, fin, ack, rst, none

    init(_ f: TCPFlags) {
        if f.contains(.rst) {
            self = .rst
        } else if f.contains(.syn) {
            self = f.contains(.ack) ? .synAck : .syn
        } else if f.contains(.fin) {
            self = .fin
        } else if f.contains(.ack) {
            self = .ack
        } else {
            self = .none
        }
    }
}
