import Foundation
import HostInspect
import TestSupport
import Testing

/// ``Inspection`` built from fixed samples, its JSON, and the small /proc parsers.
@Suite("Inspection from fixed samples")
struct InspectionTests {

    static let sysctls = [
        "net.ipv4.ip_local_port_range": "40000 40099",
        "net.ipv4.ip_local_reserved_ports": "40050",
        "net.ipv4.tcp_max_tw_buckets": "131072",
    ]
    static let slab = SlabSizes(
        timeWait4: 200, timeWait6: 300, request4: 400, request6: 500, source: "slabinfo")

    /// Outbound: 10.0.0.1 -> 10.0.0.5:80 (3 TIME-WAIT aged 5, 20 and 50 s, 1 ESTAB, 1 FIN-WAIT-2
    /// timewait), -> 10.0.0.6:443 (SYN-SENT), and an IPv6 TIME-WAIT. Inbound TIME-WAITs on the
    /// listening port 80 and on port 22 (outside the range). A listener inside the range (40010).
    static let now = HostSample(
        time: 100.1,
        sockets: [
            DiagSocket.fixture(10, "0.0.0.0", 80, "0.0.0.0", 0, sendQ: 128),
            DiagSocket.fixture(10, "::", 443, "::", 0, family: 6, sendQ: 128),
            DiagSocket.fixture(10, "10.0.0.1", 8080, "0.0.0.0", 0, recvQ: 11, sendQ: 10),
            DiagSocket.fixture(10, "10.0.0.1", 40010, "0.0.0.0", 0, sendQ: 4),
            DiagSocket.fixture(6, "10.0.0.1", 40001, "10.0.0.5", 80, timer: 3, expiresMs: 55_000),
            DiagSocket.fixture(6, "10.0.0.1", 40002, "10.0.0.5", 80, timer: 3, expiresMs: 40_000),
            DiagSocket.fixture(6, "10.0.0.1", 40003, "10.0.0.5", 80, timer: 3, expiresMs: 10_000),
            DiagSocket.fixture(1, "10.0.0.1", 40020, "10.0.0.5", 80, timer: 2, expiresMs: 7_000_000),
            DiagSocket.fixture(5, "10.0.0.1", 40030, "10.0.0.5", 80, timer: 3, expiresMs: 20_000),
            DiagSocket.fixture(2, "10.0.0.1", 40021, "10.0.0.6", 443, timer: 1, expiresMs: 900),
            DiagSocket.fixture(
                6, "2001:db8::1", 40040, "2001:db8::5", 80, family: 6, timer: 3, expiresMs: 59_000),
            DiagSocket.fixture(6, "10.0.0.1", 80, "10.0.0.9", 51000, timer: 3, expiresMs: 30_000),
            DiagSocket.fixture(6, "10.0.0.1", 22, "10.0.0.9", 51001, timer: 3, expiresMs: 30_000),
            DiagSocket.fixture(1, "10.0.0.1", 80, "10.0.0.9", 52000),
            DiagSocket.fixture(3, "10.0.0.1", 8080, "10.0.0.7", 33000, timer: 1, expiresMs: 800),
            DiagSocket.fixture(
                3, "::ffff:10.0.0.1", 443, "::ffff:10.0.0.7", 33001, family: 6, timer: 1, expiresMs: 800),
            DiagSocket.fixture(7, "10.0.0.1", 40060, "0.0.0.0", 0),
        ],
        counters: [
            "TcpExtListenOverflows": 145, "TcpExtListenDrops": 150, "TcpExtTW": 1000, "IpInReceives": 5,
        ],
        sockstat: ["inuse": 9, "tw": 7], sysctls: sysctls, slab: slab, kernelRelease: "6.18.44-fc-v657")

    static let before = HostSample(
        time: 100.0,
        sockets: [DiagSocket.fixture(6, "10.0.0.1", 40001, "10.0.0.5", 80, timer: 3, expiresMs: 55_100)],
        counters: ["TcpExtListenOverflows": 100, "TcpExtListenDrops": 100, "TcpExtTW": 990],
        sysctls: sysctls, slab: slab, kernelRelease: "6.18.44-fc-v657")

    @Test("two samples: groups, usable ports, rates, exhaustion, inbound TIME-WAIT, listeners, memory")
    func twoSamples() throws {
        let i = Inspection(sample: Self.now, previous: Self.before, netns: "web-1")
        let interval = 100.1 - 100.0
        #expect(i.netns == "web-1")
        #expect(i.kernel == "6.18.44" && i.kernelRelease == "6.18.44-fc-v657")
        #expect(i.intervalSeconds == interval)
        #expect(
            i.states == [
                "LISTEN": 4, "TIME-WAIT": 6, "ESTAB": 2, "FIN-WAIT-2": 1, "SYN-SENT": 1, "SYN-RECV": 2,
            ])
        // 100 ports, 40050 reserved, a listener on 40010: 98 (even size, nothing more lost).
        #expect(i.usablePorts == 98)
        #expect(i.inboundTimeWait == 2)
        #expect(i.destinationsTotal == 3)
        #expect(i.destinations.map(\.destination) == ["10.0.0.5", "10.0.0.6", "2001:db8::5"])

        let web = i.destinations[0]
        #expect(web.source == "10.0.0.1" && web.port == 80)
        #expect(web.held == 5 && web.timeWait == 3 && web.established == 1)
        #expect(web.pressure == 5.0 / 98.0)
        #expect(web.timeWaitAges == Inspection.TimeWaitAges(under10: 1, from10To30: 1, from30To60: 1))
        // 4 of its 5 tuples are new (40001 was there): 40/s, 93 ports left: 2.325 s.
        #expect(abs((web.newPerSecond ?? 0) - 4 / interval) < 1e-6)
        #expect(abs((web.exhaustionSeconds ?? 0) - 93 / (4 / interval)) < 1e-6)

        let tls = i.destinations[1]
        #expect(tls.held == 1 && tls.established == 0 && tls.timeWait == 0 && tls.port == 443)
        #expect(abs((tls.exhaustionSeconds ?? 0) - 97 / (1 / interval)) < 1e-6)
        #expect(i.destinations[2].source == "2001:db8::1" && i.destinations[2].timeWait == 1)

        #expect(
            i.listeners.map { "\($0.address) \($0.port)" } == [
                "0.0.0.0 80", ":: 443", "10.0.0.1 8080", "10.0.0.1 40010",
            ])
        #expect(i.listeners.map(\.synRecv) == [0, 1, 1, 0])
        #expect(i.listeners.map(\.acceptQueueFull) == [false, false, true, false])
        // Only 8080 is saturated: the namespace's queue counters are its.
        #expect(i.listeners.map { $0.rates != nil } == [false, false, true, false])
        let rates = try #require(i.listeners[2].rates)
        #expect(abs(rates.overflows - 45 / interval) < 1e-6 && abs(rates.drops - 50 / interval) < 1e-6)
        #expect(rates.reqQFullDrops == 0 && rates.syncookiesSent == 0)

        #expect(i.counters == ["TcpExtListenOverflows": 45, "TcpExtListenDrops": 50, "TcpExtTW": 10])
        #expect(i.counterRates.map { abs(($0["TcpExtTW"] ?? 0) - 10 / interval) < 1e-6 } == true)
        // 6 IPv4 timewait sockets (3 TW, 1 FIN-WAIT-2, 2 inbound) and 1 IPv6; 1 request each.
        #expect(i.memory.timeWaitSockets == 7 && i.memory.requestSockets == 2)
        #expect(i.memory.timeWaitBytes == 6 * 200 + 300)
        #expect(i.memory.requestBytes == 400 + 500)
    }

    @Test("one sample: absolute counters, no rates; top keeps the riskiest; a lone listener gets the rates")
    func oneSampleAndTop() {
        let i = Inspection(sample: Self.now, netns: nil, top: 1)
        #expect(i.intervalSeconds == 0 && i.counterRates == nil)
        #expect(i.counters == ["TcpExtListenOverflows": 145, "TcpExtListenDrops": 150, "TcpExtTW": 1000])
        #expect(i.destinations.count == 1 && i.destinationsTotal == 3)
        #expect(i.destinations[0].destination == "10.0.0.5")
        #expect(i.destinations[0].newPerSecond == nil && i.destinations[0].exhaustionSeconds == nil)
        #expect(i.listeners.allSatisfy { $0.rates == nil })

        var lone = Self.now
        lone.sockets = [DiagSocket.fixture(10, "0.0.0.0", 80, "0.0.0.0", 0, sendQ: 128)]
        var loneBefore = Self.before
        loneBefore.sockets = []
        let single = Inspection(sample: lone, previous: loneBefore, netns: nil)
        #expect(single.listeners.first?.rates?.overflows.rounded() == 450)
    }

    @Test("an IPv4-mapped socket joins its IPv4 group; a TIME-WAIT taken over by connect() counts as new")
    func mappedAndTakenOver() throws {
        let before = HostSample(
            time: 1,
            sockets: [DiagSocket.fixture(6, "10.0.0.1", 40001, "10.0.0.5", 80, timer: 3, expiresMs: 50_000)],
            sysctls: Self.sysctls)
        let now = HostSample(
            time: 2,
            sockets: [
                // The same 4-tuple, now a new connection that took the TIME-WAIT over (TWR-2).
                DiagSocket.fixture(1, "10.0.0.1", 40001, "10.0.0.5", 80),
                DiagSocket.fixture(
                    6, "::ffff:10.0.0.1", 40002, "::ffff:10.0.0.5", 80, family: 6, timer: 3, expiresMs: 59_000
                ),
            ],
            sysctls: Self.sysctls)
        let i = Inspection(sample: now, previous: before, netns: nil)
        #expect(i.destinationsTotal == 1)
        let d = try #require(i.destinations.first)
        #expect(d.source == "10.0.0.1" && d.destination == "10.0.0.5" && d.port == 80)
        #expect(d.held == 2 && d.established == 1 && d.timeWait == 1)
        #expect(d.newPerSecond == 2)
    }

    @Test("tcp_info's timestamps are tallied per group: with, without, unknown (TS-2)")
    func timestampsPerGroup() throws {
        let sockets = [
            DiagSocket.fixture(1, "10.0.0.1", 40000, "10.0.0.5", 80, timestamps: true),
            DiagSocket.fixture(1, "10.0.0.1", 40002, "10.0.0.5", 80, timestamps: false),
            DiagSocket.fixture(
                1, "::ffff:10.0.0.1", 40004, "::ffff:10.0.0.5", 80, family: 6, timestamps: false),
            DiagSocket.fixture(1, "10.0.0.1", 40006, "10.0.0.5", 80),
            DiagSocket.fixture(6, "10.0.0.1", 40008, "10.0.0.5", 80, timer: 3, expiresMs: 50_000),
            DiagSocket.fixture(1, "10.0.0.1", 40010, "10.0.0.6", 443, timestamps: false),
        ]
        let i = Inspection(sample: HostSample(time: 1, sockets: sockets, sysctls: Self.sysctls), netns: nil)
        let web = try #require(i.destinations.first { $0.destination == "10.0.0.5" })
        #expect(web.held == 5 && web.withTimestamps == 1 && web.withoutTimestamps == 2)
        let tls = try #require(i.destinations.first { $0.destination == "10.0.0.6" })
        #expect(tls.withTimestamps == 0 && tls.withoutTimestamps == 1)
    }

    @Test("sockets from /proc: no backlog, so no listener is called full or saturated, and send_q is null")
    func procHasNoBacklog() throws {
        let sockets = [
            DiagSocket.fixture(10, "0.0.0.0", 8080, "0.0.0.0", 0, recvQ: 1),
            DiagSocket.fixture(10, "0.0.0.0", 80, "0.0.0.0", 0),
            DiagSocket.fixture(3, "10.0.0.1", 8080, "10.0.0.7", 33000, timer: 1, expiresMs: 800),
        ]
        let before = HostSample(
            time: 1, sockets: sockets, source: .proc, counters: ["TcpExtListenOverflows": 0])
        let now = HostSample(time: 2, sockets: sockets, source: .proc, counters: ["TcpExtListenOverflows": 5])
        let i = Inspection(sample: now, previous: before, netns: nil)
        #expect(i.listeners.map(\.sendQ) == [nil, nil])
        #expect(i.listeners.allSatisfy { !$0.acceptQueueFull })
        // Two listeners, neither known to be saturated: the namespace's rates stay unattributed.
        #expect(i.listeners.allSatisfy { $0.rates == nil })
        #expect(i.listeners[1].synRecv == 1)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(i.jsonText().utf8)) as? [String: Any])
        let listeners = try #require(json["listeners"] as? [[String: Any]])
        #expect(listeners.allSatisfy { $0["send_q"] is NSNull && $0["accept_queue_full"] as? Bool == false })
        // The same sockets from netlink: 8080 (Recv-Q 1 > Send-Q 0) is full.
        let netlink = Inspection(sample: HostSample(time: 2, sockets: sockets), netns: nil)
        #expect(netlink.listeners[1].acceptQueueFull && netlink.listeners[1].sendQ == 0)
    }

    @Test("no port range sysctl: the kernel default range; an unknown kernel keeps the parity rule")
    func defaults() {
        var sample = Self.now
        sample.sysctls = [:]
        sample.kernelRelease = ""
        let i = Inspection(sample: sample, netns: nil)
        #expect(i.ports == EphemeralPorts.linuxDefault)
        // 28232 ports less the listener on 40010, which lies in the default range too.
        #expect(i.usablePorts == 28231)
        #expect(i.kernel == "")
        #expect(i.inboundTimeWait == 2)
    }

    @Test("JSON: the contract's keys, nulls without an interval, sorted keys")
    func json() throws {
        let text = Inspection(sample: Self.now, previous: Self.before, netns: "web-1").jsonText()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["twlab"] as? Int == 1)
        #expect(object["netns"] as? String == "web-1")
        #expect(object["kernel"] as? String == "6.18.44")
        #expect(object["interval_s"] as? Double == 0.1)
        #expect(
            object["states"] as? [String: Int] == [
                "LISTEN": 4, "TIME-WAIT": 6, "ESTAB": 2, "FIN-WAIT-2": 1, "SYN-SENT": 1, "SYN-RECV": 2,
            ])
        #expect(object["inbound_time_wait"] as? Int == 2)
        let destination = try #require((object["destinations"] as? [[String: Any]])?.first)
        #expect(
            Set(destination.keys) == [
                "src", "dst", "dport", "established", "time_wait", "held", "usable_ports", "pressure",
                "new_per_s", "exhaustion_in_s", "time_wait_age_s",
            ])
        #expect(destination["pressure"] as? Double == 0.051)
        #expect(destination["new_per_s"] as? Double == 40)
        #expect(destination["exhaustion_in_s"] as? Double == 2.325)
        #expect(destination["time_wait_age_s"] as? [String: Int] == ["0-10": 1, "10-30": 1, "30-60": 1])
        let listener = try #require((object["listeners"] as? [[String: Any]])?[2])
        #expect(listener["addr"] as? String == "10.0.0.1" && listener["port"] as? Int == 8080)
        #expect(listener["recv_q"] as? Int == 11 && listener["send_q"] as? Int == 10)
        #expect(listener["overflows_per_s"] as? Double == 450)
        #expect(object["memory_bytes"] as? [String: Int] == ["time_wait": 1500, "request": 900])
        #expect(
            object["counters"] as? [String: Int] == [
                "TcpExtListenOverflows": 45, "TcpExtListenDrops": 50, "TcpExtTW": 10,
            ])
        #expect((object["sysctl"] as? [String: String])?["net.ipv4.ip_local_port_range"] == "40000 40099")
        // Keys come sorted, so the text is stable.
        let top = text.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map {
            $0.split(separator: "\"")[1]
        }
        #expect(top == top.sorted())

        let single = Inspection(sample: Self.now, netns: nil).jsonText()
        let object1 = try #require(
            try JSONSerialization.jsonObject(with: Data(single.utf8)) as? [String: Any])
        #expect(object1["netns"] is NSNull)
        #expect(object1["interval_s"] as? Double == 0)
        #expect(object1["counter_rates_per_s"] is NSNull)
        let d1 = try #require((object1["destinations"] as? [[String: Any]])?.first)
        #expect(d1["new_per_s"] is NSNull && d1["exhaustion_in_s"] is NSNull)
        let l1 = try #require((object1["listeners"] as? [[String: Any]])?.first)
        #expect(l1["overflows_per_s"] is NSNull)
    }

    @Test("/proc parsers: sockstat, slabinfo, sysctl text, kernel release, --interval")
    func parsers() {
        let sockstat = """
            sockets: used 210
            TCP: inuse 5 orphan 1 tw 28001 alloc 9 mem 3
            UDP: inuse 2 mem 1
            """
        #expect(SockStat.parse(sockstat) == ["inuse": 5, "orphan": 1, "tw": 28001, "alloc": 9, "mem": 3])
        #expect(SockStat.parse("TCP: inuse x tw 4") == ["tw": 4])

        let slabinfo = """
            slabinfo - version: 2.1
            # name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables ...
            tw_sock_TCPv6         32     32    264   16    1 : tunables    0    0    0 : slabdata      2      2      0
            request_sock_TCPv6     24     24    328   12    1 : tunables    0    0    0 : slabdata      2      2      0
            tw_sock_TCP          208    208    256   16    1 : tunables    0    0    0 : slabdata     13     13      0
            request_sock_TCP     144    192    320   12    1 : tunables    0    0    0 : slabdata     16     16      0
            TCP                   66    117   2368   13    8 : tunables    0    0    0 : slabdata      9      9      0
            """
        #expect(
            SlabSizes.parse(slabinfo)
                == SlabSizes(timeWait4: 256, timeWait6: 264, request4: 320, request6: 328, source: "slabinfo")
        )
        let partial = SlabSizes.parse("tw_sock_TCP 1 1 512 8 1 : tunables 0 0 0")
        #expect(partial.timeWait4 == 512 && partial.request4 == 320 && partial.source == "slabinfo+defaults")
        #expect(SlabSizes.parse("") == SlabSizes.defaults)

        #expect(Sysctls.normalize("32768\t60999\n") == "32768 60999")
        #expect(Sysctls.normalize("\n") == "")
        #expect(Sysctls.path(of: "net.ipv4.tcp_tw_reuse") == "/proc/sys/net/ipv4/tcp_tw_reuse")

        #expect(KernelVersion(release: "6.18.44-fc-v657") == KernelVersion(6, 18, 44))
        #expect(KernelVersion(release: "4.9.0") == KernelVersion(4, 9))
        #expect(KernelVersion(release: "5.15") == KernelVersion(5, 15, 0))
        #expect(KernelVersion(release: "3.10.0-1160.el7.x86_64")?.description == "3.10.0")
        #expect(KernelVersion(release: "x") == nil)
        #expect(KernelVersion(4, 5, 7) < KernelVersion(4, 6))

        for (text, seconds) in [("0", 0.0), ("5s", 5), ("5", 5), ("500ms", 0.5), ("1.5s", 1.5), ("1m", 60)] {
            #expect((try? Inspector.parseInterval(text).get()) == seconds, "\(text)")
        }
        for text in ["", "s", "-1s", "5x", "abc", "1.s", ".5s", "1..2s", "nan", "2h", "61s", "2m"] {
            #expect((try? Inspector.parseInterval(text).get()) == nil, "\(text)")
        }
    }
}
