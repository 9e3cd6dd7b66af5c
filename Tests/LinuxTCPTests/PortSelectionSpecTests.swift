import LinuxTCP
import Testing

/// EP-1, EP-7, EP-8: range semantics, bind(0) and IP_BIND_ADDRESS_NO_PORT, on a bare stack
/// whose SYNs go nowhere (every socket stays in SYN-SENT, holding its 4-tuple).
@Suite struct PortSelectionSpecTests {
    static let me = IPv4Address(10, 77, 0, 1)
    static let dstA = IPv4Address(10, 77, 0, 2)
    static let dstB = IPv4Address(10, 77, 0, 3)

    static func stack(_ range: String, seed: UInt64 = 1) -> HostStack {
        SpecNet.stack(me, seed: seed, ["net.ipv4.ip_local_port_range": range])
    }

    /// Results of successive connect() calls: the local port or the errno.
    static func connects(
        _ st: inout HostStack, _ n: Int, to d: IPv4Address = dstA, port: UInt16 = 80,
        bind: BindRequest? = nil, now: Nanos = 0
    ) -> [String] {
        var out = Effects()
        return (0..<n).map { _ in
            switch st.connect(to: d, port: port, bind: bind, app: 1, now: now, out: &out) {
            case .success(let h): return String(st.localPort(h)!)
            case .failure(let e): return e.name
            }
        }
    }

    // EP-1 / e9: connect() scans high−low+1 rounded down to even ports, so an odd-sized range
    // never yields its top port: "40500 40502" → [40500, 40501, EADDRNOTAVAIL].
    @Test(arguments: [
        ("40500 40502", ["40500", "40501", "EADDRNOTAVAIL", "EADDRNOTAVAIL"]),
        ("40601 40603", ["40601", "40602", "EADDRNOTAVAIL", "EADDRNOTAVAIL"]),
    ])
    func ep1_oddRangeTopPortNeverUsed(range: String, expected: [String]) {
        for seed in 1...20 {
            var st = Self.stack(range, seed: UInt64(seed))
            let got = Self.connects(&st, 4, now: Nanos(seed) * Nanos.s(11))
            #expect(got == expected, "seed \(seed)")
        }
    }

    // EP-7 / e8: 20 × bind(ip, 0) → odd ports only (the parity opposite to low = 32768).
    @Test func ep7_bindZeroPrefersOddPorts() {
        var st = Self.stack("32768 60999")
        var ports: [Int] = []
        for k in 0..<20 {
            let b = BindRequest(address: Self.me, port: 0, noPort: false, reuseAddress: false)
            let r = Self.connects(&st, 1, port: UInt16(8000 + k), bind: b)
            ports.append(Int(r[0]) ?? -1)
        }
        #expect(ports.allSatisfy { $0 > 0 && $0 % 2 == 1 }, "\(ports)")
        #expect(Set(ports).count == 20)
    }

    // EP-7 / e8: range 40200–40201, bind(0)+SO_REUSEADDR ×3 → [40201, 40200, EADDRINUSE]:
    // bind(0) takes a port exclusively even when both sockets set SO_REUSEADDR
    // (ip_autobind_reuse=0). Each socket connects to a different destination so that only the
    // bind rule can refuse the third.
    @Test func ep7_bindZeroWithReuseaddrIsStillExclusive() {
        var st = Self.stack("40200 40201")
        let b = BindRequest(address: Self.me, port: 0, noPort: false, reuseAddress: true)
        let got = [80, 81, 82].map { Self.connects(&st, 1, port: UInt16($0), bind: b)[0] }
        #expect(got == ["40201", "40200", "EADDRINUSE"])
    }

    // EP-7 / EP-8: bind(0) ports are not shared across destinations; exhaustion is EADDRINUSE.
    @Test func ep7_bindZeroIsExclusiveAcrossDestinations() {
        var st = Self.stack("40200 40201")
        let b = BindRequest(address: Self.me, port: 0, noPort: false, reuseAddress: false)
        let a1 = Self.connects(&st, 1, to: Self.dstA, port: 80, bind: b)
        let a2 = Self.connects(&st, 1, to: Self.dstA, port: 81, bind: b)
        let b1 = Self.connects(&st, 1, to: Self.dstB, port: 80, bind: b)
        #expect(a1 + a2 + b1 == ["40201", "40200", "EADDRINUSE"])
        // EP-8 / e8: every range port owned by bind() sockets → connect() to a NEW destination
        // gets EADDRNOTAVAIL (connect() autobind skips bind-created buckets).
        #expect(Self.connects(&st, 1, to: Self.dstB, port: 443) == ["EADDRNOTAVAIL"])
    }

    // EP-8 / e8: IP_BIND_ADDRESS_NO_PORT leaves the port to connect(): EP-3's even-first
    // ports, shared across destinations like plain autobind.
    @Test func ep8_noPortSharesLikeAutobind() {
        var st = Self.stack("40000 40003")
        let b = BindRequest(address: Self.me, port: 0, noPort: true, reuseAddress: false)
        let toA = Self.connects(&st, 4, to: Self.dstA, port: 80, bind: b)
        let toB = Self.connects(&st, 4, to: Self.dstA, port: 81, bind: b)
        #expect(Set(toA) == ["40000", "40001", "40002", "40003"])
        #expect(Set(toB) == Set(toA))
        #expect(toA.prefix(2).allSatisfy { Int($0)! % 2 == 0 }, "even ports first: \(toA)")
        #expect(Self.connects(&st, 1, to: Self.dstA, port: 80, bind: b) == ["EADDRNOTAVAIL"])
        // Default range: 20 NO_PORT connects to one destination are all even (e8 "59426 (even)").
        var big = Self.stack("32768 60999", seed: 5)
        let ports = Self.connects(&big, 20, to: Self.dstA, port: 8090, bind: b).map { Int($0) ?? -1 }
        #expect(ports.allSatisfy { $0 > 0 && $0 % 2 == 0 }, "\(ports)")
    }
}
