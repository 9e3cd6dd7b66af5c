/// TCP header flags.
public struct TCPFlags: OptionSet, Sendable, BitwiseCopyable, Hashable {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
}

/// What an application message means, carried beside its byte count so that applications can
/// act on it without parsing bytes. The TCP model only ever looks at the length.
public struct AppMessage: Sendable, BitwiseCopyable, Equatable {
    /// Application-defined kind (e.g. HTTP request or response).
    public var kind: UInt8
    /// Application-defined argument (e.g. HTTP status, or flags).
    public var arg: UInt16
    public init(kind: UInt8, arg: UInt16) {
        self.kind = kind
        self.arg = arg
    }
    public static let none = AppMessage(kind: 0, arg: 0)
}

/// One TCP segment on the wire: small and bitwise-copyable, so events carry it by value.
public struct Segment: Sendable, BitwiseCopyable, Equatable {
    public var src: IPv4Address
    public var dst: IPv4Address
    public var sport: UInt16
    public var dport: UInt16
    public var flags: TCPFlags
    /// The timestamp option is present.
    public var hasTS: Bool
    public var seq: UInt32
    public var ack: UInt32
    public var tsval: UInt32
    public var tsecr: UInt32
    /// Payload bytes (SYN and FIN not counted).
    public var length: UInt32
    public var message: AppMessage

    public init(
        src: IPv4Address, dst: IPv4Address, sport: UInt16, dport: UInt16, flags: TCPFlags, seq: UInt32,
        ack: UInt32, hasTS: Bool = false, tsval: UInt32 = 0, tsecr: UInt32 = 0, length: UInt32 = 0,
        message: AppMessage = .none
    ) {
        self.src = src
        self.dst = dst
        self.sport = sport
        self.dport = dport
        self.flags = flags
        self.hasTS = hasTS
        self.seq = seq
        self.ack = ack
        self.tsval = tsval
        self.tsecr = tsecr
        self.length = length
        self.message = message
    }

    /// Sequence space consumed: payload plus one each for SYN and FIN.
    @inlinable public var sequenceLength: UInt32 {
        length &+ (flags.contains(.syn) ? 1 : 0) &+ (flags.contains(.fin) ? 1 : 0)
    }

    /// The 4-tuple as the receiver sees it (local = destination).
    @inlinable public var receiverTuple: FourTuple {
        FourTuple(localAddress: dst, localPort: dport, remoteAddress: src, remotePort: sport)
    }
}

/// Sequence-number comparison modulo 2^32 (`before()`/`after()` in include/net/tcp.h).
@inlinable public func seqBefore(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }
@inlinable public func seqAfter(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: b &- a) < 0 }
