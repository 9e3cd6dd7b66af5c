import LinuxTCP
import Testing

/// tcp_tw_reuse and the explicit-bind takeover of a TIME_WAIT (kernel-spec §2.4, TWR-*).
@Suite struct TimeWaitReuseTests {
    typealias N = SpecNet

    /// One connection from a one-port range, closed client-first, then server-side: the client
    /// holds the only port in TIME_WAIT. Returns the net and the TW entry time.
    static func onePortClientTimeWait(_ client: [String: String], bind: BindRequest? = nil) -> (
        SpecNet, Nanos
    ) {
        var c = client
        c["net.ipv4.ip_local_port_range"] = c["net.ipv4.ip_local_port_range"] ?? "40000 40000"
        var n = N.pair(client: c)
        let l = n.listen()
        let (cs, ss) = n.establish(listener: l, bind: bind)
        n.run(for: Nanos.ms(1))
        n.close(0, cs)
        n.run(for: Nanos.ms(3))
        n.close(1, ss)
        let entry = n.now + n.delay
        n.run(for: Nanos.ms(1))
        #expect(n.states(0) == ["TIME-WAIT": 1])
        return (n, entry)
    }

    /// Probes connect() every `step` from `from` on; returns (time of first success, failures).
    static func probe(_ n: inout SpecNet, from: Nanos, step: Nanos, until: Nanos, bind: BindRequest? = nil)
        -> (Nanos?, [Errno])
    {
        var fails: [Errno] = []
        var t = from
        while t <= until {
            n.run(until: t)
            switch n.connect(bind: bind) {
            case .success: return (t, fails)
            case .failure(let e): fails.append(e)
            }
            t += step
        }
        return (nil, fails)
    }

    // TWR-2/TWR-3 / e10 / n3: tw_reuse=1, the first reuse comes just after tcp_tw_reuse_delay ms
    // from TW entry (50 → 0.0508 s; 300 → 301–303 ms; 1000 → 1001–1003 ms), TWRecycled +1, and
    // the new SYN's ISN is the TW's snd_nxt + 65537.
    @Test(arguments: [50, 300, 1000])
    func twr3_reuseExactlyAfterDelay(delayMs: Int) {
        var (n, entry) = Self.onePortClientTimeWait([
            "net.ipv4.tcp_tw_reuse": "1", "net.ipv4.tcp_tw_reuse_delay": "\(delayMs)",
        ])
        let finSeq = n.segments(from: 0, where: { $0.flags.contains(.fin) }).last!.seg.seq
        let (ok, fails) = Self.probe(
            &n, from: entry, step: Nanos.ms(1), until: entry + Nanos.ms(Int64(delayMs) + 20))
        #expect(ok != nil)
        if let t = ok {
            let age = t - entry
            #expect(
                age > Nanos.ms(Int64(delayMs)) && age <= Nanos.ms(Int64(delayMs) + 2),
                "age \(age.millisValue) ms")
        }
        #expect(Set(fails) == [.EADDRNOTAVAIL])
        #expect(n.hosts[0].counters[.twRecycled] == 1)
        let syn = n.segments(from: 0, where: { $0.flags == [.syn] }).last!.seg
        #expect(syn.sport == 40000)
        #expect(syn.seq == finSeq &+ 1 &+ 65537, "TWR-2: write_seq = tw_snd_nxt + 65535 + 2")
    }

    // TWR-2 / lab-notes p / e7: tw_reuse=2 (the default) never reuses over a non-loopback path.
    @Test func twr2_reuse2_neverOverNonLoopback() {
        var (n, entry) = Self.onePortClientTimeWait([:])
        n.run(until: entry + Nanos.s(1.5))
        let r = n.connect()
        #expect(r.failure == .EADDRNOTAVAIL)
        #expect(n.hosts[0].counters[.twRecycled] == 0)
    }

    // TWR-2 / e7b: tw_reuse=2 over 127.0.0.1 → the connect after the TW is 1 s old succeeds
    // (verified 1.007 s with a probe loop), TWRecycled +1.
    @Test func twr2_reuse2_worksOverLoopback() {
        var s = KernelProfile.linux6_18.defaults
        try! SysctlRegistry.set("net.ipv4.ip_local_port_range", to: "40000 40000", in: &s)
        let lo = IPv4Address(127, 0, 0, 1)
        var n = SpecNet([
            HostStack(profile: .linux6_18, sysctls: s, addresses: [N.client], uptime: N.uptime, seed: 3)
        ])
        let l = n.listen(0, port: 9001)
        guard case .success(let c) = n.connect(0, to: lo, port: 9001) else {
            Issue.record("connect failed")
            return
        }
        n.run(for: Nanos.ms(1))
        guard let child = n.accept(0, listener: l) else {
            Issue.record("no child")
            return
        }
        n.close(0, c)
        n.run(for: Nanos.ms(1))
        n.close(0, child)
        let entry = n.now + 10 * Nanos.nanosPerMicro
        n.run(for: Nanos.ms(1))
        #expect(n.hosts[0].timeWaitCount == 1)
        var ok: Nanos? = nil
        var t = entry
        while t <= entry + Nanos.ms(1100) {
            n.run(until: t)
            if case .success = n.connect(0, to: lo, port: 9001) {
                ok = t
                break
            }
            t += Nanos.ms(1)
        }
        #expect(ok != nil)
        if let t = ok { #expect(t - entry > Nanos.ms(1000) && t - entry <= Nanos.ms(1002)) }
        #expect(n.hosts[0].counters[.twRecycled] == 1)
    }

    // TWR-2 explicit-port path / e6: tw_reuse=0, TW 50 ms old, bind(ip, same port)+SO_REUSEADDR
    // and connect to the same destination: ts=1 → OK at once, TWRecycled +1; ts=0 → EADDRNOTAVAIL.
    @Test(arguments: [1, 0])
    func twr2_explicitBindTakesOverTimeWaitImmediately(timestamps: Int) {
        let bind = BindRequest(address: N.client, port: 40000, noPort: false, reuseAddress: true)
        var (n, entry) = Self.onePortClientTimeWait(
            [
                "net.ipv4.tcp_tw_reuse": "0", "net.ipv4.tcp_timestamps": "\(timestamps)",
                "net.ipv4.ip_local_port_range": "32768 60999",
            ], bind: bind)
        let finSeq = n.segments(from: 0, where: { $0.flags.contains(.fin) }).last!.seg.seq
        n.run(until: entry + Nanos.ms(50))
        let r = n.connect(bind: bind)
        if timestamps == 1 {
            #expect(r.failure == nil)
            #expect(n.hosts[0].counters[.twRecycled] == 1)
            let syn = n.segments(from: 0, where: { $0.flags == [.syn] }).last!.seg
            #expect(syn.seq == finSeq &+ 1 &+ 65537)
            n.run(for: Nanos.ms(5))
            #expect(n.states(0) == ["ESTAB": 1])
        } else {
            #expect(r.failure == .EADDRNOTAVAIL)
            #expect(n.hosts[0].counters[.twRecycled] == 0)
            #expect(n.states(0) == ["TIME-WAIT": 1])
        }
    }

    // EP-10 / e6: a client bound WITHOUT SO_REUSEADDR, now in TW → a new socket WITH
    // SO_REUSEADDR cannot bind the port: EADDRINUSE.
    @Test func ep10_timeWaitOfNonReuseaddrSocketBlocksBind() {
        let old = BindRequest(address: N.client, port: 40000, noPort: false, reuseAddress: false)
        var (n, entry) = Self.onePortClientTimeWait(
            ["net.ipv4.tcp_tw_reuse": "0", "net.ipv4.ip_local_port_range": "32768 60999"], bind: old)
        n.run(until: entry + Nanos.ms(50))
        let r = n.connect(
            bind: BindRequest(address: N.client, port: 40000, noPort: false, reuseAddress: true))
        #expect(r.failure == .EADDRINUSE)
    }

    // TWR-2 / TW-10 / e3: a TW still in the FIN_WAIT2 substate is never reused; after the
    // server's FIN (TIME_WAIT substate, fresh entry stamp) + 1.2 s it is.
    @Test func twr2_finWait2SubstateIsNeverReused() {
        var n = N.pair(client: ["net.ipv4.tcp_tw_reuse": "1", "net.ipv4.ip_local_port_range": "40000 40000"])
        let l = n.listen()
        let (c, s) = n.establish(listener: l)
        n.run(for: Nanos.ms(1))
        n.close(0, c)
        n.run(for: Nanos.s(1.5))
        #expect(n.states(0) == ["FIN-WAIT-2": 1])
        #expect(n.connect().failure == .EADDRNOTAVAIL)
        n.close(1, s)
        let entry = n.now + n.delay
        n.run(until: entry + Nanos.ms(500))
        #expect(n.states(0) == ["TIME-WAIT": 1])
        #expect(
            n.connect().failure == .EADDRNOTAVAIL, "entry stamp refreshed by the FIN_WAIT2→TIME_WAIT move")
        n.run(until: entry + Nanos.s(1.2))
        #expect(n.connect().failure == nil)
        #expect(n.hosts[0].counters[.twRecycled] == 1)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
