/// The conntrack table of one network namespace: entries hashed by both of their tuples, and
/// the NAT `bysource` index of SNATed entries by original source.
///
/// Expiry is lazy: an entry whose timeout has passed is treated as absent by every lookup and
/// reaped then, as the kernel's lookups do with `nf_ct_is_expired()` before the GC worker gets to
/// it. That is deterministic and needs no events.
public struct ConntrackTable: Sendable {
    public let timeouts: ConntrackTimeouts
    public internal(set) var entries: [ConntrackEntry] = []
    var freeSlots: [UInt32] = []
    /// Tuple -> entry index << 1 | direction.
    var hash: [ConntrackTuple: UInt32] = [:]
    /// Original source (address, port) -> SNATed entries, newest first (`nf_nat_bysource`).
    var bySource: [UInt64: [UInt32]] = [:]
    public var stats = ConntrackStats()

    public init(timeouts: ConntrackTimeouts) { self.timeouts = timeouts }

    static func sourceKey(_ a: IPv4Address, _ port: UInt16) -> UInt64 { UInt64(a.value) << 16 | UInt64(port) }

    /// The live entry holding `t` in either direction, reaping it if it has expired.
    public mutating func lookup(_ t: ConntrackTuple, now: Nanos) -> (
        index: UInt32, direction: ConntrackDirection
    )? {
        guard let v = hash[t] else { return nil }
        let i = v >> 1
        if entries[Int(i)].expires <= now {
            remove(i)
            return nil
        }
        return (i, v & 1 == 0 ? .original : .reply)
    }

    /// Whether a live entry other than the new flow holds `t` (`nf_conntrack_tuple_taken`).
    public mutating func taken(_ t: ConntrackTuple, now: Nanos) -> Bool { lookup(t, now: now) != nil }

    /// Confirms a new entry (`__nf_conntrack_confirm`): fails when either tuple is held.
    mutating func confirm(_ e: ConntrackEntry, now: Nanos) -> UInt32? {
        if taken(e.original, now: now) || taken(e.reply, now: now) { return nil }
        let i: UInt32
        if let f = freeSlots.popLast() {
            i = f
            entries[Int(i)] = e
        } else {
            entries.append(e)
            i = UInt32(entries.count - 1)
        }
        hash[e.original] = i << 1
        hash[e.reply] = i << 1 | 1
        if e.sourceNAT {
            bySource[Self.sourceKey(e.original.src, e.original.sport), default: []].insert(i, at: 0)
        }
        return i
    }

    /// Removes an entry at once (`nf_ct_kill`, or expiry). Its bysource link goes with it, as
    /// `nf_conntrack_free()` calls `nf_nat_cleanup_conntrack()`.
    public mutating func remove(_ i: UInt32) {
        let e = entries[Int(i)]
        guard e.live else { return }
        if hash[e.original] == i << 1 { hash[e.original] = nil }
        if hash[e.reply] == i << 1 | 1 { hash[e.reply] = nil }
        if e.sourceNAT {
            let k = Self.sourceKey(e.original.src, e.original.sport)
            bySource[k]?.removeAll { $0 == i }
            if bySource[k]?.isEmpty == true { bySource[k] = nil }
        }
        entries[Int(i)].live = false
        freeSlots.append(i)
    }

    /// Live SNATed entries whose original source is (`address`, `port`), newest first.
    mutating func entries(fromSource address: IPv4Address, port: UInt16, now: Nanos) -> [UInt32] {
        guard let list = bySource[Self.sourceKey(address, port)] else { return [] }
        var out: [UInt32] = []
        for i in list {
            if entries[Int(i)].expires <= now { remove(i) } else { out.append(i) }
        }
        return out
    }

    /// The live entry holding `t`, if any, for inspection.
    public mutating func entry(_ t: ConntrackTuple, now: Nanos) -> ConntrackEntry? {
        lookup(t, now: now).map { entries[Int($0.index)] }
    }
}
