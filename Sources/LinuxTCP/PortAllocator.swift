/// Ephemeral port selection for connect() and bind(0), with the bind buckets that own ports.
///
/// The kernel profile picks the era (EP-4): 2.6.32–4.5 scan every port from a global hint,
/// 4.6–5.11 scan `low`'s parity first from that hint, 5.18+ (and the 2022 stable backports)
/// use the perturbation table described next.
///
/// Models `__inet_hash_connect` (EP-3, 6.18) exactly: a keyed hash of (saddr, daddr, dport,
/// 10-s epoch) plus a per-bucket perturbation counter gives the offset; the first pass visits
/// ports of `low`'s parity in steps of 2, wrapping by `remaining` (the range size rounded down
/// to even, so an odd range never reaches its top port from offset 0, EP-1), the second pass the
/// other parity; success adds `max(i, rand(0..7)·2) + 2` to the counter.
///
/// To keep each connect() O(range/64) instead of O(range) in every era, the ports a destination
/// cannot use are kept as bitsets, one per parity: `destination` bits for 4-tuples held in the
/// established hash (cleared when a TIME_WAIT becomes reusable), `host` bits for reserved ports
/// and ports owned by bind()/listen() buckets (EP-3 step 4). The parity eras scan one parity's
/// words; the all-parity hint era (≤4.5) interleaves the two parities' words into one word of
/// 64 consecutive ports. A destination whose every port is blocked fails at once, as the kernel
/// does after its full scan.
public struct PortAllocator: Sendable {
    /// Who created a bind bucket (`fastreuse`): connect() autobind (−1) or bind()/listen().
    public enum BucketKind: UInt8, Sendable { case none = 0, connect = 1, bind = 2 }

    public let low: UInt16
    public let high: UInt16
    /// The `__inet_hash_connect` era (EP-3, EP-4).
    public let selection: KernelProfile.PortSelection
    /// ≤5.11: the one static `hint` every connect() of the host advances (EP-4).
    var hint: UInt32 = 0
    let size: Int
    /// Ports scanned per pass pair (`remaining`), size rounded down to even when > 1.
    let remaining: Int
    let wordsEven: Int
    let wordsOdd: Int

    /// Owners per port (sockets and timewait sockets), and who created the bucket.
    var owners: [Int32]
    var kinds: [BucketKind]
    /// Per-bucket owner records for bind-created buckets (conflict checks, EP-10).
    var bindOwners: [UInt16: [BindOwner]] = [:]

    var hostEven: [UInt64]
    var hostOdd: [UInt64]
    var hostBlockedCount = 0

    struct Destination {
        var even: [UInt64]
        var odd: [UInt64]
        /// Ports blocked for this destination: destination bits ∪ host bits.
        var blocked: Int
    }
    var destinations: [Destination] = []
    var destinationIndex: [DestinationKey: Int32] = [:]

    /// `table_perturb`: 2^16 counters, random at first use (CONFIG_INET_TABLE_PERTURB_ORDER=16).
    var perturb: [UInt32]
    let secret: UInt64

    /// A (saddr, daddr, dport) group: the unit of port exhaustion (EP-6).
    public struct DestinationKey: Hashable, Sendable {
        public var source: IPv4Address
        public var destination: IPv4Address
        public var port: UInt16

        public init(source: IPv4Address, destination: IPv4Address, port: UInt16) {
            self.source = source
            self.destination = destination
            self.port = port
        }
    }

    /// One owner of a bind-created bucket.
    public struct BindOwner: Sendable, Equatable {
        public var address: IPv4Address  // 0.0.0.0 = wildcard
        public var reuseAddress: Bool
        public var isListener: Bool
        public var id: UInt32
    }

    public init(
        sysctls: Sysctls, selection: KernelProfile.PortSelection = .perturbTable, rng: inout SplitMix64
    ) {
        low = sysctls.portRangeLow
        high = sysctls.portRangeHigh
        size = sysctls.portRangeSize
        self.selection = selection
        // ≥4.6 rounds the range down to even (EP-1); 2.6.32–4.5 use every port.
        remaining = size > 1 && selection != .globalHint ? size & ~1 : size
        wordsEven = ((size + 1) / 2 + 63) / 64
        wordsOdd = (size / 2 + 63) / 64
        owners = Array(repeating: 0, count: 65536)
        kinds = Array(repeating: .none, count: 65536)
        hostEven = Array(repeating: 0, count: wordsEven)
        hostOdd = Array(repeating: 0, count: wordsOdd)
        perturb = (0..<65536).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
        secret = rng.next()
        for r in sysctls.reservedPorts {
            for p in r {
                reserved.insert(p)
                setHostBit(p, true)
            }
        }
    }

    // MARK: bit helpers

    @inline(__always) func inRange(_ p: UInt16) -> Bool { p >= low && p <= high }

    /// (isOdd, bit index) of a port in the range.
    @inline(__always) func slot(_ p: UInt16) -> (Bool, Int) {
        let off = Int(p - low)
        return (off & 1 == 1, off >> 1)
    }

    @inline(__always) static func test(_ words: [UInt64], _ i: Int) -> Bool {
        words[i >> 6] >> UInt64(i & 63) & 1 == 1
    }

    func hostBit(_ p: UInt16) -> Bool {
        let (odd, i) = slot(p)
        return PortAllocator.test(odd ? hostOdd : hostEven, i)
    }

    mutating func setHostBit(_ p: UInt16, _ on: Bool) {
        guard inRange(p) else { return }
        let (odd, i) = slot(p)
        let was = PortAllocator.test(odd ? hostOdd : hostEven, i)
        guard was != on else { return }
        let m: UInt64 = 1 << UInt64(i & 63)
        if odd {
            if on { hostOdd[i >> 6] |= m } else { hostOdd[i >> 6] &= ~m }
        } else {
            if on { hostEven[i >> 6] |= m } else { hostEven[i >> 6] &= ~m }
        }
        hostBlockedCount += on ? 1 : -1
        for d in destinations.indices {
            let destSet = PortAllocator.test(odd ? destinations[d].odd : destinations[d].even, i)
            if !destSet { destinations[d].blocked += on ? 1 : -1 }
        }
    }

    /// The index of a destination group, created on first use.
    public mutating func destination(_ key: DestinationKey) -> Int32 {
        if let i = destinationIndex[key] { return i }
        let i = Int32(destinations.count)
        destinations.append(
            Destination(
                even: Array(repeating: 0, count: wordsEven), odd: Array(repeating: 0, count: wordsOdd),
                blocked: hostBlockedCount))
        destinationIndex[key] = i
        return i
    }

    /// Marks `port` as held (true) or usable (false) for destination group `d`.
    public mutating func setHeld(_ d: Int32, _ p: UInt16, _ held: Bool) {
        guard inRange(p) else { return }
        let (odd, i) = slot(p)
        let m: UInt64 = 1 << UInt64(i & 63)
        let di = Int(d)
        let was = PortAllocator.test(odd ? destinations[di].odd : destinations[di].even, i)
        guard was != held else { return }
        if odd {
            if held { destinations[di].odd[i >> 6] |= m } else { destinations[di].odd[i >> 6] &= ~m }
        } else {
            if held { destinations[di].even[i >> 6] |= m } else { destinations[di].even[i >> 6] &= ~m }
        }
        if !hostBit(p) { destinations[di].blocked += held ? 1 : -1 }
    }

    /// Ports of the range currently blocked for destination group `d`.
    public func blockedCount(_ d: Int32) -> Int { destinations[Int(d)].blocked }

    /// Ports in the range.
    public var rangeSize: Int { size }

    // MARK: buckets

    /// The bucket kind of `port`.
    public func bucketKind(_ p: UInt16) -> BucketKind { kinds[Int(p)] }

    /// Adds an owner to `port`'s bucket, creating it as `kind` if absent.
    public mutating func addOwner(_ p: UInt16, kind: BucketKind, bindOwner: BindOwner? = nil) {
        let i = Int(p)
        if owners[i] == 0 {
            kinds[i] = kind
            if kind == .bind { setHostBit(p, true) }
        }
        owners[i] += 1
        if let b = bindOwner { bindOwners[p, default: []].append(b) }
    }

    /// Removes one owner of `port`; the bucket goes when the last owner does.
    public mutating func removeOwner(_ p: UInt16, bindOwnerID: UInt32? = nil) {
        let i = Int(p)
        owners[i] -= 1
        if let id = bindOwnerID, var list = bindOwners[p] {
            if let k = list.firstIndex(where: { $0.id == id }) { list.remove(at: k) }
            bindOwners[p] = list.isEmpty ? nil : list
        }
        if owners[i] == 0 {
            if kinds[i] == .bind && !isReservedBit(p) { setHostBit(p, false) }
            kinds[i] = .none
            bindOwners[p] = nil
        }
    }

    /// `ip_local_reserved_ports` (EP-2): blocked for autobind and bind(0) whatever the buckets say.
    var reserved: Set<UInt16> = []
    func isReservedBit(_ p: UInt16) -> Bool { reserved.contains(p) }

    /// Whether a new socket bound to (address, port) conflicts with the bucket's owners (EP-10):
    /// addresses overlap and, unless `relax` is false, not (both SO_REUSEADDR and the owner is
    /// not listening). Explicit binds relax; bind(0)'s search does not, except in its
    /// `ip_autobind_reuse` pass (`inet_csk_bind_conflict(…, relax, …)`). Owners of
    /// connect-created buckets carry no SO_REUSEADDR and so always conflict.
    public func bindConflict(port p: UInt16, address: IPv4Address, reuseAddress: Bool, relax: Bool = true)
        -> Bool
    {
        let i = Int(p)
        if owners[i] == 0 { return false }
        if kinds[i] == .connect { return true }
        for o in bindOwners[p] ?? [] {
            let overlap = o.address.value == 0 || address.value == 0 || o.address == address
            if !overlap { continue }
            if relax && reuseAddress && o.reuseAddress && !o.isListener { continue }
            return true
        }
        return false
    }

    // MARK: connect() autobind (EP-3)

    /// The result of an autobind scan.
    public struct Choice: Sendable {
        public var port: UInt16
        /// The kernel's loop index `i` at the chosen port (steps × 2), for the perturb update.
        public var loopIndex: Int
        public var perturbIndex: Int
    }

    /// `secure_ipv4_port_ephemeral()`: 64-bit keyed hash of (saddr, daddr, dport, 10-s epoch).
    public func portOffset(_ key: DestinationKey, epoch: Int64) -> UInt64 {
        keyedHash(
            secret, UInt64(key.source.value) << 32 | UInt64(key.destination.value), UInt64(key.port),
            UInt64(bitPattern: epoch))
    }

    /// Runs the EP-3 scan for destination group `d`; `usable(port)` confirms a candidate whose
    /// bits say it is free (it may reject, and the scan goes on). nil means EADDRNOTAVAIL.
    public func scan(_ d: Int32, portOffset: UInt64, usable: (UInt16) -> Bool) -> Choice? {
        if destinations[Int(d)].blocked >= size { return nil }
        let dest = destinations[Int(d)]
        let index = Int(portOffset & 0xFFFF)
        let base: UInt32
        switch selection {
        case .perturbTable: base = perturb[index] &+ UInt32(truncatingIfNeeded: portOffset >> 32)
        case .globalHintParity: base = hint &+ UInt32(truncatingIfNeeded: portOffset)
        case .globalHint:
            return scanAllParities(
                dest, offset: hint &+ UInt32(truncatingIfNeeded: portOffset), usable: usable)
        }
        var offset = Int(base % UInt32(remaining))
        offset &= ~1
        // Pass 1: even offsets (parity of low). Bit index e = off/2.
        let totalA = (remaining + 1) / 2
        let eMax = (size - 1) / 2
        let startA = offset / 2
        let c1 = min(eMax - startA + 1, totalA)
        let wrapA = size % 2 == 0 ? 0 : 1
        if let k = firstUsable(dest.even, hostEven, odd: false, from: startA, count: c1, usable: usable) {
            return Choice(port: low + UInt16(2 * k), loopIndex: 2 * (k - startA), perturbIndex: index)
        }
        if totalA - c1 > 0,
            let k = firstUsable(
                dest.even, hostEven, odd: false, from: wrapA, count: totalA - c1, usable: usable)
        {
            return Choice(port: low + UInt16(2 * k), loopIndex: 2 * (c1 + k - wrapA), perturbIndex: index)
        }
        // Pass 2: odd offsets, `i` restarts at 0. Bit index o = (off−1)/2.
        guard remaining > 1 else { return nil }
        let totalB = remaining / 2
        let oMax = totalB - 1
        let startB = offset / 2
        let d1 = min(oMax - startB + 1, totalB)
        if let k = firstUsable(dest.odd, hostOdd, odd: true, from: startB, count: d1, usable: usable) {
            return Choice(port: low + UInt16(2 * k + 1), loopIndex: 2 * (k - startB), perturbIndex: index)
        }
        if totalB - d1 > 0,
            let k = firstUsable(dest.odd, hostOdd, odd: true, from: 0, count: totalB - d1, usable: usable)
        {
            return Choice(port: low + UInt16(2 * k + 1), loopIndex: 2 * (d1 + k), perturbIndex: index)
        }
        return nil
    }

    /// First bit index in [from, from+count) clear in both bitsets and accepted by `usable`.
    @inline(__always)
    func firstUsable(_ a: [UInt64], _ b: [UInt64], odd: Bool, from: Int, count: Int, usable: (UInt16) -> Bool)
        -> Int?
    {
        var i = from
        let end = from + count
        while i < end {
            let w = i >> 6
            var free = ~(a[w] | b[w])
            free &= ~0 << UInt64(i & 63)  // drop bits below i
            let wordEnd = (w + 1) << 6
            if end < wordEnd { free &= (1 << UInt64(end & 63)) &- 1 }
            while free != 0 {
                let k = w << 6 + free.trailingZeroBitCount
                let port = low + UInt16(2 * k + (odd ? 1 : 0))
                if usable(port) { return k }
                free &= free &- 1
            }
            i = wordEnd
        }
        return nil
    }

    /// 2.6.32–4.5 (EP-4): `port = low + (i + offset) % remaining` for i = 1…remaining, every
    /// parity, skipping reserved ports and bind()-created buckets.
    ///
    /// `i + offset` is 32-bit unsigned, as in the kernel: the offsets visited are consecutive
    /// (mod `remaining`) from `(offset + 1) % remaining` until `i + offset` wraps to 0, then
    /// consecutive from 0. Each consecutive run is scanned 64 ports at a time over
    /// ``blockedWord(_:_:)``.
    /// - Complexity: O(range/64) plus one `usable` call per candidate it rejects.
    func scanAllParities(_ dest: Destination, offset: UInt32, usable: (UInt16) -> Bool) -> Choice? {
        let r = remaining
        // i at which `i + offset` wraps to 0 (none within 1…r when it is past r).
        let wrapI = offset == 0 ? r + 1 : min(Int(UInt64(1) << 32 - UInt64(offset)), r + 1)
        // Run 1: i = 1 ..< wrapI from (offset + 1) % r; run 2: i = wrapI … r from offset 0.
        let first = Int((UInt64(offset) + 1) % UInt64(r))
        if let c = scanRun(dest, from: first, count: wrapI - 1, firstLoopIndex: 1, usable: usable) {
            return c
        }
        return scanRun(dest, from: 0, count: r - wrapI + 1, firstLoopIndex: wrapI, usable: usable)
    }

    /// Port offsets `from`, `from + 1`, … (mod `remaining`), `count` of them, the first at loop
    /// index `firstLoopIndex`: the first whose bits say it is free and that `usable` accepts.
    func scanRun(
        _ dest: Destination, from: Int, count: Int, firstLoopIndex: Int, usable: (UInt16) -> Bool
    ) -> Choice? {
        guard count > 0 else { return nil }
        let r = remaining
        // Up to the end of the range, then from offset 0.
        let head = min(count, r - from)
        if let o = firstFree(dest, from: from, to: from + head, usable: usable) {
            return Choice(port: low + UInt16(o), loopIndex: firstLoopIndex + o - from, perturbIndex: 0)
        }
        if count > head, let o = firstFree(dest, from: 0, to: count - head, usable: usable) {
            return Choice(port: low + UInt16(o), loopIndex: firstLoopIndex + head + o, perturbIndex: 0)
        }
        return nil
    }

    /// The first port offset in [from, end), in order, that is blocked neither for `dest` nor
    /// for the host and that `usable` accepts.
    @inline(__always)
    func firstFree(_ dest: Destination, from: Int, to end: Int, usable: (UInt16) -> Bool) -> Int? {
        var o = from
        while o < end {
            let j = o >> 6
            var free = ~blockedWord(dest, j)
            free &= ~0 << UInt64(o & 63)  // drop offsets below o
            let wordEnd = (j + 1) << 6
            if end < wordEnd { free &= (1 << UInt64(end & 63)) &- 1 }
            while free != 0 {
                let k = j << 6 + free.trailingZeroBitCount
                if usable(low + UInt16(k)) { return k }
                free &= free &- 1
            }
            o = wordEnd
        }
        return nil
    }

    /// The blocked bits (destination ∪ host) of port offsets [64·j, 64·j + 64), both parities
    /// merged: offset 2k is even bit k, offset 2k + 1 odd bit k, so the 32 even and 32 odd bits
    /// of one half-word interleave into one word.
    @inline(__always)
    func blockedWord(_ dest: Destination, _ j: Int) -> UInt64 {
        let w = j >> 1
        let shift = UInt64(j & 1) << 5
        let even = w < wordsEven ? UInt32(truncatingIfNeeded: (dest.even[w] | hostEven[w]) >> shift) : 0
        let odd = w < wordsOdd ? UInt32(truncatingIfNeeded: (dest.odd[w] | hostOdd[w]) >> shift) : 0
        return Self.spread(even) | Self.spread(odd) << 1
    }

    /// Bit k of `x` moved to bit 2k.
    @inline(__always)
    static func spread(_ x: UInt32) -> UInt64 {
        var v = UInt64(x)
        v = (v | v << 16) & 0x0000_FFFF_0000_FFFF
        v = (v | v << 8) & 0x00FF_00FF_00FF_00FF
        v = (v | v << 4) & 0x0F0F_0F0F_0F0F_0F0F
        v = (v | v << 2) & 0x3333_3333_3333_3333
        v = (v | v << 1) & 0x5555_5555_5555_5555
        return v
    }

    /// The update after a successful scan: EP-3 `i = max(i, rand(8)·2)`, table += i + 2; the
    /// hint eras add `i + 2` (4.6–5.11) or `i` (≤4.5) to the global hint (EP-4).
    public mutating func commit(_ c: Choice, rng: inout SplitMix64) {
        switch selection {
        case .perturbTable:
            let i = max(c.loopIndex, Int(rng.below(8)) * 2)
            perturb[c.perturbIndex] &+= UInt32(i + 2)
        case .globalHintParity: hint &+= UInt32(c.loopIndex + 2)
        case .globalHint: hint &+= UInt32(c.loopIndex)
        }
    }

    // MARK: bind(0) (EP-7)

    /// `inet_csk_find_open_port`: random start forced to the parity opposite to `low`, step 2,
    /// then the other parity; a port is taken only without bind conflict, so a bind(0) port is
    /// exclusive even with SO_REUSEADDR. With `ip_autobind_reuse=1` (≥5.7) a second, relaxed
    /// pass lets sockets that all set SO_REUSEADDR share. nil = EADDRINUSE (EP-7).
    public func bindAnyPort(
        address: IPv4Address, reuseAddress: Bool, autobindReuse: Bool, rng: inout SplitMix64
    )
        -> UInt16?
    {
        let odds = size / 2
        let evens = (size + 1) / 2
        for relax in autobindReuse && reuseAddress ? [false, true] : [false] {
            for (count, parity) in [(odds, 1), (evens, 0)] where count > 0 {
                let start = Int(rng.below(UInt32(count)))
                for j in 0..<count {
                    let p = low + UInt16(2 * ((start + j) % count) + parity)
                    if !isReservedBit(p)
                        && !bindConflict(port: p, address: address, reuseAddress: reuseAddress, relax: relax)
                    {
                        return p
                    }
                }
            }
        }
        return nil
    }
}
