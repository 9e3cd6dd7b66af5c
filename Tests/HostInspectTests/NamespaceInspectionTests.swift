import Foundation
import HostInspect
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Inspection of real sockets in namespaces made for the test, with populations whose numbers
/// are known exactly. Needs root (skipped with a printed reason otherwise); every namespace is
/// deleted in a `defer`, and sysctls are written only inside them.
@Suite("Inspection of a namespace with known sockets (root)", .serialized)
struct NamespaceInspectionTests {
    static let server = "10.201.0.1"
    static let twClient = "10.201.0.2"
    static let queueClient = "10.201.0.3"
    /// The server-closed connection comes from its own address: a later client connection from
    /// the same address could reuse its port and take over the server's TIME-WAIT (TW-12).
    static let inboundClient = "10.201.0.4"

    /// Range 40000-40020 (21 ports, odd), 40003 reserved, a listener on 40005 in the range:
    /// 21 - 1 - 1 = 19 candidates, and the odd size costs one more (EP-1): 18.
    static let sysctls = [
        ("net.ipv4.ip_local_port_range", "40000 40020"),
        ("net.ipv4.ip_local_reserved_ports", "40003"),
    ]

    @Test("TIME-WAITs to one destination, a full accept queue, an inbound TIME-WAIT: exact numbers")
    func knownPopulation() throws {
        guard TestNamespace.available else { return }
        let ns = try TestNamespace(
            tag: "pop", addresses: [Self.server, Self.twClient, Self.queueClient, Self.inboundClient],
            sysctls: Self.sysctls)
        defer { ns.remove() }

        let web = try ns.listen(Self.server, 80, backlog: 16)
        _ = try ns.listen(Self.server, 8080, backlog: 2)
        _ = try ns.listen(Self.server, 40005, backlog: 4)

        // Before the first sample: 6 client TIME-WAITs, 1 server TIME-WAIT on :80, and 3
        // clients filling the accept queue of :8080 (it holds backlog + 1 = 3, LQ-2).
        try ns.makeTimeWaits(6, from: Self.twClient, to: Self.server, 80, listener: web)
        try ns.makeServerTimeWait(from: Self.inboundClient, to: Self.server, 80, listener: web)
        for _ in 0..<3 {
            guard case .socket = try ns.connect(from: Self.queueClient, to: Self.server, 8080) else {
                Issue.record("a connect to the not yet full queue failed")
                return
            }
        }
        try #require(try ns.settled(timeWait: 7))
        let first = try Inspector.sample(netns: ns.name)

        // Between the samples: 3 more client TIME-WAITs and a 4th client whose SYN meets the
        // full accept queue and is dropped (ListenOverflows, LQ-7): it stays SYN-SENT.
        try ns.makeTimeWaits(3, from: Self.twClient, to: Self.server, 80, listener: web)
        guard case .socket = try ns.connect(from: Self.queueClient, to: Self.server, 8080, blocking: false)
        else {
            Issue.record("the nonblocking connect failed at once")
            return
        }
        try #require(try ns.settled(timeWait: 10))
        usleep(300_000)
        let second = try Inspector.sample(netns: ns.name)

        let i = Inspection(sample: second, previous: first, netns: ns.name)
        let interval = second.time - first.time
        #expect(i.intervalSeconds == interval)
        #expect(i.netns == ns.name)
        #expect(i.socketSource == .netlink)
        #expect(i.states == ["LISTEN": 3, "TIME-WAIT": 10, "ESTAB": 6, "SYN-SENT": 1])
        #expect(i.ports == EphemeralPorts(low: 40000, high: 40020, reserved: [40003...40003]))
        #expect(i.usablePorts == 18)
        #expect(i.inboundTimeWait == 1)
        #expect(i.destinationsTotal == 2)
        try #require(i.destinations.count == 2)

        let tw = i.destinations[0]
        #expect(tw.source == Self.twClient && tw.destination == Self.server && tw.port == 80)
        #expect(tw.established == 0 && tw.timeWait == 9 && tw.held == 9)
        #expect(tw.usablePorts == 18)
        #expect(tw.pressure == 0.5)
        #expect(tw.timeWaitAges == Inspection.TimeWaitAges(under10: 9, from10To30: 0, from30To60: 0))
        let twRate = try #require(tw.newPerSecond)
        #expect(abs(twRate * interval - 3) < 1e-9)
        // 9 ports left at 3 per interval; no TIME-WAIT expires that soon.
        #expect(abs((tw.exhaustionSeconds ?? -1) - 3 * interval) < 1e-9)

        let queue = i.destinations[1]
        #expect(queue.source == Self.queueClient && queue.destination == Self.server && queue.port == 8080)
        #expect(queue.established == 3 && queue.timeWait == 0 && queue.held == 4)
        #expect(queue.pressure == 4.0 / 18.0)
        #expect(abs((queue.newPerSecond ?? 0) * interval - 1) < 1e-9)
        #expect(abs((queue.exhaustionSeconds ?? -1) - 14 * interval) < 1e-9)

        #expect(i.listeners.map(\.port) == [80, 8080, 40005])
        let (l80, l8080, l40005) = (i.listeners[0], i.listeners[1], i.listeners[2])
        #expect(l80.address == Self.server && l80.recvQ == 0 && l80.sendQ == 16 && l80.synRecv == 0)
        #expect(!l80.acceptQueueFull && l80.rates == nil)
        #expect(l8080.recvQ == 3 && l8080.sendQ == 2 && l8080.synRecv == 0 && l8080.acceptQueueFull)
        #expect(l40005.recvQ == 0 && l40005.sendQ == 4 && l40005.rates == nil)
        // The namespace's overflow counters go to the one saturated listener.
        let rates = try #require(l8080.rates)
        #expect(rates.overflows >= 1 / interval)
        #expect(rates.drops >= rates.overflows)

        // Counters over the interval: exactly what the test did (the namespace is its own).
        #expect(i.counters["TcpExtTW"] == 3)
        #expect(i.counters["TcpActiveOpens"] == 4)
        #expect(i.counters["TcpPassiveOpens"] == 3)
        #expect((i.counters["TcpExtListenOverflows"] ?? 0) >= 1)
        #expect(i.counterRates?["TcpExtTW"].map { abs($0 * interval - 3) < 1e-9 } == true)

        // Memory: 10 timewait sockets of tw_sock_TCP's size (root reads /proc/slabinfo).
        #expect(i.memory.timeWaitSockets == 10 && i.memory.requestSockets == 0)
        #expect(i.memory.objectSizes.source == "slabinfo")
        #expect(i.memory.timeWaitBytes == 10 * second.slab.timeWait4)
        #expect(i.memory.requestBytes == 0)
        #expect(i.sockstat["tw"] == 10)
        #expect(i.sysctls["net.ipv4.ip_local_port_range"] == "40000 40020")
        #expect(i.sysctls["net.ipv4.ip_local_reserved_ports"] == "40003")

        // One sample: the same picture, no rates.
        let single = Inspection(sample: second, netns: ns.name)
        #expect(single.intervalSeconds == 0 && single.counterRates == nil)
        #expect(single.destinations.allSatisfy { $0.newPerSecond == nil && $0.exhaustionSeconds == nil })
        #expect(single.destinations.map(\.held) == [9, 4])
        #expect(single.listeners.allSatisfy { $0.rates == nil })
    }

    /// The port arithmetic against the kernel itself: connect() until EADDRNOTAVAIL.
    @Test(
        "connect() gets exactly the usable ports (even range), or one more over several scans (odd)",
        arguments: [("40000 40019", 18, 18...18), ("40000 40020", 18, 18...19)])
    func fillUntilEADDRNOTAVAIL(range: String, usable: Int, accepted: ClosedRange<Int>) throws {
        guard TestNamespace.available else { return }
        let ns = try TestNamespace(
            tag: "fill\(range.hasSuffix("19") ? "even" : "odd")", addresses: [Self.server, Self.twClient],
            sysctls: [("net.ipv4.ip_local_port_range", range), ("net.ipv4.ip_local_reserved_ports", "40003")])
        defer { ns.remove() }
        _ = try ns.listen(Self.server, 80, backlog: 64)
        _ = try ns.listen(Self.server, 40005, backlog: 1)

        var connected = 0
        var last: Int32 = 0
        while connected < 64 {
            switch try ns.connect(from: Self.twClient, to: Self.server, 80) {
            case .socket: connected += 1
            case .failed(let e):
                last = e
            }
            if last != 0 { break }
        }
        #expect(last == EADDRNOTAVAIL)
        #expect(accepted.contains(connected), "connected \(connected)")

        let i = try Inspector.inspect(netns: ns.name)
        #expect(i.usablePorts == usable)
        let group = try #require(i.destinations.first)
        #expect(group.held == connected && group.established == connected)
        #expect(group.pressure >= 1)
    }

    @Test("the host-wide part (slab sizes, kernel release) is read once and passed in, not re-read")
    func hostWide() throws {
        guard TestNamespace.available else { return }
        let ns = try TestNamespace(tag: "host", addresses: [Self.server], sysctls: Self.sysctls)
        defer { ns.remove() }
        let running = HostWide.read()
        #expect(running.kernelRelease == KernelVersion.runningRelease())
        let given = HostWide(
            slab: SlabSizes(timeWait4: 1, timeWait6: 2, request4: 3, request6: 4, source: "given"),
            kernelRelease: "9.8.7-given")
        let sample = try Inspector.sample(netns: ns.name, host: given)
        #expect(sample.slab == given.slab && sample.kernelRelease == "9.8.7-given")
        #expect(try Inspector.sample(netns: ns.name).kernelRelease == running.kernelRelease)
        let (last, first) = try Inspector.samples(netns: ns.name, interval: 0.01)
        #expect(first?.kernelRelease == running.kernelRelease && last.kernelRelease == running.kernelRelease)
    }

    @Test("IPv6: native ::1 TIME-WAITs form their own group; IPv4-mapped ones join their IPv4 group")
    func ipv6() throws {
        guard TestNamespace.available else { return }
        let server = Self.server
        let ns = try TestNamespace(tag: "v6", addresses: [server], sysctls: Self.sysctls)
        defer { ns.remove() }
        let v6 = try ns.listen("::1", 80, backlog: 16)
        let v4 = try ns.listen(server, 8080, backlog: 16)
        try ns.makeTimeWaits(3, from: nil, to: "::1", 80, listener: v6)
        // Two from IPv4 sockets (source = the server's address, as the route gives a mapped
        // socket), two from AF_INET6 sockets to ::ffff:server, which go through the IPv4 tables.
        try ns.makeTimeWaits(2, from: server, to: server, 8080, listener: v4)
        try ns.makeTimeWaits(2, from: nil, to: "::ffff:\(server)", 8080, listener: v4)
        try #require(try ns.settled(timeWait: 7))

        let i = Inspection(sample: try Inspector.sample(netns: ns.name), netns: ns.name)
        #expect(i.states == ["LISTEN": 2, "TIME-WAIT": 7])
        #expect(i.memory.timeWaitSockets == 7)
        #expect(i.destinationsTotal == 2)
        let native = try #require(i.destinations.first { $0.destination == "::1" })
        #expect(native.source == "::1" && native.port == 80 && native.timeWait == 3 && native.held == 3)
        let mapped = try #require(i.destinations.first { $0.destination == server })
        #expect(mapped.source == server && mapped.port == 8080 && mapped.timeWait == 4 && mapped.held == 4)
        #expect(i.listeners.map { "\($0.address):\($0.port)" } == ["::1:80", "\(server):8080"])
    }

    @Test("twlab inspect --netns NAME --json: the contract's keys, this namespace's numbers")
    func commandLine() throws {
        guard TestNamespace.available, Twlab.binary != nil else {
            print("skipping: \(TestNamespace.unavailableReason ?? "twlab not built")")
            return
        }
        let ns = try TestNamespace(
            tag: "cli", addresses: [Self.server, Self.twClient], sysctls: Self.sysctls)
        defer { ns.remove() }
        let web = try ns.listen(Self.server, 80, backlog: 5)
        try ns.makeTimeWaits(4, from: Self.twClient, to: Self.server, 80, listener: web)
        try #require(try ns.settled(timeWait: 4))

        let r = try Twlab.run("inspect", "--netns", ns.name, "--json", "--interval", "100ms")
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in [
            "twlab", "netns", "kernel", "interval_s", "states", "destinations", "inbound_time_wait",
            "listeners",
            "counters", "memory_bytes", "sysctl",
        ] {
            #expect(json[key] != nil, "missing \(key)")
        }
        #expect(json["netns"] as? String == ns.name)
        #expect(json["states"] as? [String: Int] == ["LISTEN": 1, "TIME-WAIT": 4])
        let destination = try #require((json["destinations"] as? [[String: Any]])?.first)
        #expect(destination["src"] as? String == Self.twClient)
        #expect(destination["dst"] as? String == Self.server)
        #expect(destination["dport"] as? Int == 80)
        #expect(destination["time_wait"] as? Int == 4)
        // 21 ports, one reserved, no listener in the range here: 20, and 19 for the odd size.
        #expect(destination["usable_ports"] as? Int == 19)
        #expect(destination["new_per_s"] as? Double == 0)
        #expect(destination["exhaustion_in_s"] is NSNull)
        #expect((destination["time_wait_age_s"] as? [String: Int]) == ["0-10": 4, "10-30": 0, "30-60": 0])
        let listener = try #require((json["listeners"] as? [[String: Any]])?.first)
        #expect(listener["addr"] as? String == Self.server)
        #expect(listener["port"] as? Int == 80)
        #expect(listener["recv_q"] as? Int == 0 && listener["send_q"] as? Int == 5)

        let text = try Twlab.run("inspect", "--netns", ns.name)
        #expect(text.status == 0)
        #expect(text.stdout.contains("      4 TIME-WAIT"))
        #expect(text.stdout.contains("network namespace \(ns.name)"))
    }
}
