import LinuxTCP
import Testing

/// The established hash must hold 10^6 TIME_WAIT sockets and stay exact under churn (SIM-1, MEM-4).
@Suite struct FourTupleTableTests {
    static func tuple(_ k: Int) -> FourTuple {
        FourTuple(
            localAddress: IPv4Address(10, 0, 0, 1), localPort: UInt16(1024 + k % 64_000),
            remoteAddress: IPv4Address(UInt32(0x0A01_0000) + UInt32(k / 64_000)), remotePort: 80)
    }

    @Test func holdsAMillionEntriesThroughInsertLookupAndRemove() {
        var t = FourTupleTable()
        let n = 1_000_000
        for k in 0..<n { t.set(Self.tuple(k), .timeWait(UInt32(k))) }
        #expect(t.count == n)
        for k in stride(from: 0, to: n, by: 7) { #expect(t.lookup(Self.tuple(k)) == .timeWait(UInt32(k))) }
        // Remove every other entry (backward-shift deletion must keep the rest reachable).
        for k in stride(from: 0, to: n, by: 2) { t.remove(Self.tuple(k)) }
        #expect(t.count == n / 2)
        var found = 0
        var wrong = 0
        for k in 0..<n {
            switch t.lookup(Self.tuple(k)) {
            case nil: if k % 2 == 1 { wrong += 1 }
            case .timeWait(let v)?: if k % 2 == 1 && v == UInt32(k) { found += 1 } else { wrong += 1 }
            default: wrong += 1
            }
        }
        #expect(found == n / 2)
        #expect(wrong == 0)
    }

    @Test func replacingAnEntryKeepsOneSlot() {
        var t = FourTupleTable()
        let x = Self.tuple(42)
        t.set(x, .full(1))
        t.set(x, .timeWait(7))
        #expect(t.count == 1)
        #expect(t.lookup(x) == .timeWait(7))
        t.remove(x)
        #expect(t.lookup(x) == nil)
        #expect(t.count == 0)
    }
}
