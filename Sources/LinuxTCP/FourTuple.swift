/// A connection's identity as one host sees it.
public struct FourTuple: Hashable, Sendable, BitwiseCopyable {
    public var localAddress: IPv4Address
    public var localPort: UInt16
    public var remoteAddress: IPv4Address
    public var remotePort: UInt16

    @inlinable public init(
        localAddress: IPv4Address, localPort: UInt16, remoteAddress: IPv4Address, remotePort: UInt16
    ) {
        self.localAddress = localAddress
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
    }

    @inlinable var packedPorts: UInt32 { UInt32(localPort) << 16 | UInt32(remotePort) }
    @inlinable var hashValue64: UInt64 {
        mix64(
            UInt64(localAddress.value) << 32 | UInt64(remoteAddress.value) ^ UInt64(packedPorts)
                &* 0x9E37_79B9)
    }
}

/// What an established-hash slot refers to.
public enum SocketRef: Sendable, Equatable, BitwiseCopyable {
    case full(UInt32)
    case timeWait(UInt32)
    case request(UInt32)

    @inlinable var packed: UInt32 {
        switch self {
        case .full(let i): return i
        case .timeWait(let i): return i | 1 << 30
        case .request(let i): return i | 2 << 30
        }
    }
    @inlinable init(packed p: UInt32) {
        let i = p & (1 << 30 - 1)
        switch p >> 30 {
        case 0: self = .full(i)
        case 1: self = .timeWait(i)
        default: self = .request(i)
        }
    }
}

/// The established hash (`ehash`): 4-tuple -> full, timewait or request socket.
///
/// Open addressing with linear probing and backward-shift deletion: no allocation per entry,
/// about one cache miss per lookup, and it holds 10^6 TIME_WAIT sockets comfortably
/// (MEM-4: lookup cost does not grow with the TW count).
public struct FourTupleTable: Sendable {
    @usableFromInline struct Slot: Sendable, BitwiseCopyable {
        @usableFromInline var local: UInt32
        @usableFromInline var remote: UInt32
        @usableFromInline var ports: UInt32
        @usableFromInline var value: UInt32  // packed SocketRef + 1; 0 = empty

        var tuple: FourTuple {
            FourTuple(
                localAddress: IPv4Address(local), localPort: UInt16(ports >> 16),
                remoteAddress: IPv4Address(remote), remotePort: UInt16(ports & 0xffff))
        }
    }
    @usableFromInline var slots: [Slot]
    @usableFromInline var mask: Int
    public private(set) var count: Int = 0

    public init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = Array(repeating: Slot(local: 0, remote: 0, ports: 0, value: 0), count: n)
        mask = n - 1
    }

    @inlinable func index(_ t: FourTuple) -> Int { Int(truncatingIfNeeded: t.hashValue64) & mask }

    /// The socket holding `t`, if any.
    @inlinable public func lookup(_ t: FourTuple) -> SocketRef? {
        var i = index(t)
        let ports = t.packedPorts
        while true {
            let s = slots[i]
            if s.value == 0 { return nil }
            if s.local == t.localAddress.value && s.remote == t.remoteAddress.value && s.ports == ports {
                return SocketRef(packed: s.value - 1)
            }
            i = (i + 1) & mask
        }
    }

    /// Inserts or replaces the entry for `t`.
    public mutating func set(_ t: FourTuple, _ ref: SocketRef) {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        var i = index(t)
        let ports = t.packedPorts
        while true {
            let s = slots[i]
            if s.value == 0 {
                slots[i] = Slot(
                    local: t.localAddress.value, remote: t.remoteAddress.value, ports: ports,
                    value: ref.packed + 1)
                count += 1
                return
            }
            if s.local == t.localAddress.value && s.remote == t.remoteAddress.value && s.ports == ports {
                slots[i].value = ref.packed + 1
                return
            }
            i = (i + 1) & mask
        }
    }

    /// Removes the entry for `t` (no-op if absent).
    public mutating func remove(_ t: FourTuple) {
        var i = index(t)
        let ports = t.packedPorts
        while true {
            let s = slots[i]
            if s.value == 0 { return }
            if s.local == t.localAddress.value && s.remote == t.remoteAddress.value && s.ports == ports {
                break
            }
            i = (i + 1) & mask
        }
        // Backward-shift deletion keeps probe chains intact without tombstones.
        var hole = i
        var j = (i + 1) & mask
        while slots[j].value != 0 {
            let s = slots[j]
            let home = Int(truncatingIfNeeded: s.tuple.hashValue64) & mask
            // Move s into the hole if its home is not cyclically within (hole, j].
            let distHole = (j - home) & mask
            let distJ = (j - hole) & mask
            if distHole >= distJ {
                slots[hole] = s
                hole = j
            }
            j = (j + 1) & mask
        }
        slots[hole].value = 0
        count -= 1
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(local: 0, remote: 0, ports: 0, value: 0), count: old.count * 2)
        mask = slots.count - 1
        count = 0
        for s in old where s.value != 0 { set(s.tuple, SocketRef(packed: s.value - 1)) }
    }

}
