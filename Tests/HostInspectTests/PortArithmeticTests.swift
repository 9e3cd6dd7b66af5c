import HostInspect
import Testing

/// The pure parts of port pressure: usable candidates (EP-1, EP-2, EP-3), exhaustion time, and
/// the TIME-WAIT age buckets.
@Suite("Port arithmetic")
struct PortArithmeticTests {
    static let modern = KernelVersion(6, 18, 44)

    @Test(
        "usable candidates: parity rounding, reserved and listening ports",
        arguments: [
            // (low, high, reserved, bound, expected)
            (32768, 60999, "", [], 28232),  // the default: even size, all ports
            (32768, 61000, "", [], 28232),  // ≤3.x default on a modern kernel: odd size, one lost
            (40000, 40009, "", [], 10),
            (40000, 40010, "", [], 10),  // odd size: 11 ports, one scan visits 10
            (40500, 40502, "", [], 2),  // e9: [40500, 40501, EADDRNOTAVAIL]
            (40300, 40303, "40300,40302", [], 2),  // EP-2: connects got 40301, 40303, then none
            (40000, 40010, "40003", [], 9),
            // The bottom port (the one most scans skip) reserved: a scan from offset 0 still
            // skips the top one, so the worst case loses one.
            (40000, 40010, "40000", [], 9),
            (40000, 40010, "40000,40010", [], 9),  // both ends reserved: nothing more is lost
            (40000, 40010, "40002-40004", [40006], 6),
            (40000, 40000, "", [], 1),  // one port: remaining stays 1
            (40000, 40001, "40000-40001", [], 0),
            (1024, 65535, "", [], 64512),
        ] as [(Int, Int, String, Set<Int>, Int)])
    func usable(low: Int, high: Int, reserved: String, bound: Set<Int>, expected: Int) throws {
        let ports = try #require(EphemeralPorts(range: "\(low) \(high)", reserved: reserved))
        #expect(ports.usableCandidates(kernel: Self.modern, boundPorts: bound) == expected)
    }

    @Test("before 4.6 the whole range is scanned one port at a time")
    func oldKernels() {
        let ports = EphemeralPorts(low: 40000, high: 40010, reserved: [40003...40003])
        #expect(ports.usableCandidates(kernel: KernelVersion(4, 5, 7)) == 10)
        #expect(ports.usableCandidates(kernel: KernelVersion(4, 6)) == 9)
        #expect(ports.usableCandidates(kernel: KernelVersion(2, 6, 32)) == 10)
    }

    /// A model of `__inet_hash_connect`'s scan (6.18), written from the kernel-spec's EP-3 text:
    /// the set of ports one scan from `offset` visits, skipping excluded ones. The arithmetic
    /// must equal the worst case over every offset, for every small range and exclusion set.
    @Test("usableCandidates is the fewest ports any scan offset visits (exhaustive, small ranges)")
    func matchesAScanModel() {
        func visited(low: Int, high: Int, offset rawOffset: Int, excluded: Set<Int>) -> Set<Int> {
            let end = high + 1
            var remaining = end - low
            if remaining > 1 { remaining &= ~1 }
            var offset = (rawOffset % remaining) & ~1
            var seen = Set<Int>()
            while true {
                var port = low + offset
                var i = 0
                while i < remaining {
                    if port >= end { port -= remaining }
                    if !excluded.contains(port) { seen.insert(port) }
                    i += 2
                    port += 2
                }
                offset += 1
                if offset & 1 == 1 && remaining > 1 { continue }
                return seen
            }
        }
        // Every range of 1 to 12 ports, from an even and an odd `low`, with every set of
        // excluded ports (bit k of `mask`: `low + k` reserved): 16,380 cases.
        for size in 1...12 {
            for low in [40000, 40001] {
                let high = low + size - 1
                for mask in 0..<(1 << size) {
                    let excluded = Set((0..<size).filter { mask & (1 << $0) != 0 }.map { low + $0 })
                    let reserved = excluded.sorted().map { $0...$0 }
                    let ports = EphemeralPorts(low: low, high: high, reserved: reserved)
                    let fewest = (0..<max(size, 2)).map {
                        visited(low: low, high: high, offset: $0, excluded: excluded).count
                    }.min()!
                    #expect(
                        ports.usableCandidates(kernel: Self.modern) == fewest,
                        "range \(low)-\(high) excluded \(excluded.sorted())")
                }
            }
        }
    }

    @Test("sysctl text: tabs, reserved lists and ranges; bad text is nil")
    func parsing() {
        #expect(
            EphemeralPorts(range: "32768\t60999", reserved: nil) == EphemeralPorts(low: 32768, high: 60999))
        #expect(
            EphemeralPorts(range: "1024 2000", reserved: "1030,1100-1199, 1500")?.reserved == [
                1030...1030, 1100...1199, 1500...1500,
            ])
        #expect(EphemeralPorts.parseReserved("") == [])
        #expect(EphemeralPorts.parseReserved("80,") == nil)
        #expect(EphemeralPorts.parseReserved("9-3") == nil)
        #expect(EphemeralPorts.parseReserved("x") == nil)
        #expect(EphemeralPorts.parseReserved("70000") == nil)
        #expect(EphemeralPorts(range: "60999 32768", reserved: nil) == nil)
        #expect(EphemeralPorts(range: "0 100", reserved: nil) == nil)
        #expect(EphemeralPorts(range: "1 2 3", reserved: nil) == nil)
        #expect(EphemeralPorts(range: "1024 2000", reserved: "a") == nil)
    }

    @Test("exhaustion: already full, no rate, linear, and TIME-WAITs expiring on the way")
    func exhaustion() {
        #expect(PortPressure.secondsToExhaustion(usable: 10, held: 10, rate: 0, timeWaitRemaining: []) == 0)
        #expect(PortPressure.secondsToExhaustion(usable: 10, held: 12, rate: 5, timeWaitRemaining: []) == 0)
        #expect(PortPressure.secondsToExhaustion(usable: 10, held: 4, rate: 0, timeWaitRemaining: []) == nil)
        // 100 free ports at 10/s: 10 s, no TIME-WAIT expires before.
        #expect(
            PortPressure.secondsToExhaustion(usable: 1000, held: 900, rate: 10, timeWaitRemaining: [30, 40])
                == 10)
        // 10 free at 1/s, but 5 ports come back at 5 s: 15 s.
        #expect(
            PortPressure.secondsToExhaustion(
                usable: 20, held: 10, rate: 1, timeWaitRemaining: [5, 5, 5, 5, 5]) == 15)
        // The design example: 14116 usable, 14002 held, 466/s: 114/466 s.
        let example = PortPressure.secondsToExhaustion(
            usable: 14116, held: 14002, rate: 466, timeWaitRemaining: [50, 55])
        #expect(example.map { abs($0 - 114.0 / 466.0) < 1e-12 } == true)
        // 60 s of new connections at 1/s hold 60 ports; with 100 usable and 10 held that never
        // fills, however the TIME-WAITs expire.
        #expect(
            PortPressure.secondsToExhaustion(usable: 100, held: 10, rate: 1, timeWaitRemaining: []) == nil)
        // Exactly at the edge: 50 free at 1/s is 50 s, inside the 60 s window.
        #expect(PortPressure.secondsToExhaustion(usable: 60, held: 10, rate: 1, timeWaitRemaining: []) == 50)
        // Expiries after 60 s do not help (the window closes first).
        #expect(
            PortPressure.secondsToExhaustion(usable: 71, held: 10, rate: 1, timeWaitRemaining: [61, 61])
                == nil)
        // 60 free at 1/s fills at 60 s; a port coming back at 59 s pushes that out of the window,
        // one at 61 s comes too late.
        #expect(
            PortPressure.secondsToExhaustion(usable: 70, held: 10, rate: 1, timeWaitRemaining: [61]) == 60)
        #expect(
            PortPressure.secondsToExhaustion(usable: 70, held: 10, rate: 1, timeWaitRemaining: [59]) == nil)
    }

    @Test(
        "TIME-WAIT age buckets: age = 60 s - time left, clamped",
        arguments: [
            (62_000, 0.0, 0), (60_000, 0, 0), (50_001, 9.999, 0), (50_000, 10, 1), (30_001, 29.999, 1),
            (30_000, 30, 2), (0, 60, 2),
        ] as [(Int, Double, Int)])
    func ages(remainingMs: Int, age: Double, bucket: Int) {
        #expect(abs(Inspection.TimeWaitAges.age(remainingMs: remainingMs) - age) < 1e-9)
        var ages = Inspection.TimeWaitAges()
        ages.add(remainingMs: remainingMs)
        var expected = [0, 0, 0]
        expected[bucket] = 1
        #expect(ages.counts == expected)
        #expect(Inspection.TimeWaitAges.labels == ["0-10", "10-30", "30-60"])
    }
}
