import Advisor
import Foundation
import HostInspect
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Every rule that this kernel can show, triggered from a real namespace and, with one setting
/// changed, not triggered. Needs root (skipped with a printed reason otherwise); namespaces are
/// `twlab-<pid>-insp-*`, deleted in a `defer`, and sysctls are written only inside them.
@Suite("Advice on namespaces with known sockets (root)", .serialized)
struct NamespaceAdviceTests {
    static let server = "10.202.0.1"
    static let client = "10.202.0.2"

    /// A namespace with the two addresses and `sysctls`, advised on once (counters since its
    /// creation: exactly what the test did).
    func advise(
        _ tag: String, sysctls: [(String, String)], whatIf: Bool = false,
        populate: (TestNamespace) throws -> Void
    ) throws -> Advisor.Advice {
        let ns = try TestNamespace(tag: tag, addresses: [Self.server, Self.client], sysctls: sysctls)
        defer { ns.remove() }
        try populate(ns)
        return try Advisor.advise(netns: ns.name, interval: 0, whatIf: whatIf)
    }

    func ids(_ a: Advisor.Advice) -> [String] { a.findings.map(\.id) }

    @Test(
        "port pressure: 12 TIME-WAITs of 20 ports with tcp_tw_reuse 0 fires, with 1 does not",
        arguments: [0, 1])
    func portPressure(reuse: Int) throws {
        guard TestNamespace.available else { return }
        let a = try advise(
            "adv-pp\(reuse)",
            sysctls: [
                ("net.ipv4.ip_local_port_range", "40000 40019"), ("net.ipv4.tcp_tw_reuse", "\(reuse)"),
            ],
            whatIf: true
        ) { ns in
            let web = try ns.listen(Self.server, 80, backlog: 16)
            try ns.makeTimeWaits(12, from: Self.client, to: Self.server, 80, listener: web)
            try #require(try ns.settled(timeWait: 12))
        }
        if reuse == 1 {
            #expect(ids(a).isEmpty)
            return
        }
        #expect(ids(a) == ["port-pressure"])
        let f = try #require(a.findings.first)
        #expect(f.severity == .warning)
        #expect(
            f.evidence[0]
                == "\(Self.client) -> \(Self.server):80 holds 12 of 20 usable ports (60%): 12 in TIME-WAIT, 0 connected"
        )
        // 12 TIME-WAITs / 60 s = 0.2/s: too slow to run out of 20 ports either way.
        let w = try #require(f.whatIf)
        #expect(w.workload.contains("0.2/s (estimated as TIME-WAIT / 60 s)"))
        #expect(w.current.portFailures == 0 && w.proposed.portFailures == 0)
    }

    @Test(
        "tcp_tw_reuse=1 with tcp_timestamps 0 fires, with 1 does not; tcp_info shows the difference",
        arguments: [0, 1])
    func reuseWithoutTimestamps(timestamps: Int) throws {
        guard TestNamespace.available else { return }
        let a = try advise(
            "adv-ts\(timestamps)",
            sysctls: [("net.ipv4.tcp_tw_reuse", "1"), ("net.ipv4.tcp_timestamps", "\(timestamps)")]
        ) { ns in
            let web = try ns.listen(Self.server, 80, backlog: 16)
            try ns.makeTimeWaits(3, from: Self.client, to: Self.server, 80, listener: web)
            guard case .socket = try ns.connect(from: Self.client, to: Self.server, 80) else {
                throw TestNamespaceError("connect failed")
            }
            try #require(try ns.settled(timeWait: 3))
            // TS-2: both ends of the live connection agree, and sock_diag's tcp_info says so.
            let live = try ns.run { try SocketDiag.dump(withTCPInfo: true).sockets }.filter {
                $0.ssName == "ESTAB"
            }
            #expect(live.count == 2)
            #expect(live.allSatisfy { $0.timestamps == (timestamps == 1) })
            // Without tcp_info (inspect's and export's dumps) it stays unknown.
            let plain = try Inspector.sample(netns: ns.name).sockets.filter { $0.ssName == "ESTAB" }
            #expect(plain.count == 2 && plain.allSatisfy { $0.timestamps == nil })
        }
        #expect(ids(a) == (timestamps == 0 ? ["tw-reuse-without-timestamps"] : []))
    }

    @Test("bind() before connect() fires; IP_BIND_ADDRESS_NO_PORT does not", arguments: [true, false])
    func bindBeforeConnect(bindPort: Bool) throws {
        guard TestNamespace.available else { return }
        let a = try advise(
            "adv-bind\(bindPort ? 1 : 0)", sysctls: [("net.ipv4.ip_local_port_range", "40000 40099")]
        ) { ns in
            _ = try ns.listen(Self.server, 443, backlog: 64)
            for _ in 0..<10 {
                guard
                    case .socket = try ns.connect(from: Self.client, to: Self.server, 443, bindPort: bindPort)
                else { throw TestNamespaceError("connect failed") }
            }
        }
        #expect(ids(a) == (bindPort ? ["bind-before-connect"] : []))
    }

    @Test("tcp_fin_timeout 30 fires, 60 does not", arguments: [30, 60])
    func finTimeout(value: Int) throws {
        guard TestNamespace.available else { return }
        let a = try advise("adv-fin\(value)", sysctls: [("net.ipv4.tcp_fin_timeout", "\(value)")]) { _ in }
        #expect(ids(a) == (value == 30 ? ["fin-timeout-not-time-wait"] : []))
    }

    @Test(
        "a full accept queue (backlog 2) fires, with the backlog below somaxconn; backlog 16 does not",
        arguments: [2, 16])
    func acceptQueue(backlog: Int32) throws {
        guard TestNamespace.available else { return }
        let a = try advise("adv-aq\(backlog)", sysctls: []) { ns in
            _ = try ns.listen(Self.server, 8080, backlog: backlog)
            // backlog + 1 fill the queue (LQ-2); the 4th SYN is dropped (LQ-4.3).
            for _ in 0..<3 {
                guard case .socket = try ns.connect(from: Self.client, to: Self.server, 8080) else {
                    throw TestNamespaceError("connect failed")
                }
            }
            _ = try ns.connect(from: Self.client, to: Self.server, 8080, blocking: false)
            usleep(200_000)
        }
        if backlog == 16 {
            #expect(ids(a).isEmpty)
            return
        }
        #expect(ids(a) == ["accept-queue-overflow"])
        let f = try #require(a.findings.first)
        #expect(f.severity == .critical)
        #expect(
            f.evidence.contains {
                $0.hasPrefix("TcpExtListenOverflows ") && !$0.hasPrefix("TcpExtListenOverflows 0")
            })
        #expect(
            f.evidence.contains(
                "listener \(Self.server):8080: Recv-Q 3, Send-Q 2 (the accept queue holds 3, LQ-2): full now")
        )
        #expect(
            f.recommendation.contains("below net.core.somaxconn (4096) for \(Self.server):8080 (backlog 2)"))
    }

    @Test("SYN queue full with syncookies 0 fires (TCPReqQFullDrop); with 1 it does not", arguments: [0, 1])
    func synDrops(cookies: Int) throws {
        guard TestNamespace.available else { return }
        let a = try advise("adv-syn\(cookies)", sysctls: [("net.ipv4.tcp_syncookies", "\(cookies)")]) { ns in
            // SYN-ACKs from :9090 never reach the client, so requests stay in the SYN queue.
            try ns.nft(
                """
                table inet twlab_test {
                  chain out { type filter hook output priority 0; tcp sport 9090 tcp flags & (syn | ack) == syn | ack drop; }
                }
                """)
            _ = try ns.listen(Self.server, 9090, backlog: 4)
            for _ in 0..<10 { _ = try ns.connect(from: Self.client, to: Self.server, 9090, blocking: false) }
            usleep(200_000)
            let counters = try Inspector.sample(netns: ns.name).counters
            if cookies == 0 {
                #expect((counters["TcpExtTCPReqQFullDrop"] ?? 0) > 0)
            } else {
                #expect((counters["TcpExtTCPReqQFullDoCookies"] ?? 0) > 0)
                #expect((counters["TcpExtTCPReqQFullDrop"] ?? 0) == 0)
            }
        }
        #expect(ids(a) == (cookies == 0 ? ["syn-drops-cookies-off"] : []))
    }

    @Test("tcp_max_tw_buckets 4 with 8 client closes fires; the default does not", arguments: [4, 0])
    func buckets(cap: Int) throws {
        guard TestNamespace.available else { return }
        let sysctls = cap > 0 ? [("net.ipv4.tcp_max_tw_buckets", "\(cap)")] : []
        let a = try advise("adv-twb\(cap)", sysctls: sysctls) { ns in
            let web = try ns.listen(Self.server, 80, backlog: 16)
            try ns.makeTimeWaits(8, from: Self.client, to: Self.server, 80, listener: web)
            try #require(try ns.settled(timeWait: cap > 0 ? cap : 8))
        }
        #expect(ids(a) == (cap > 0 ? ["tw-buckets-overflow"] : []))
        if cap > 0 {
            #expect(
                a.findings.first?.evidence.first
                    == "TcpExtTCPTimeWaitOverflow 4 since boot (or the namespace's creation)")
        }
    }

    @Test("twlab advise --netns NAME --json: the contract; bad input: one line, exit 2")
    func commandLine() throws {
        guard TestNamespace.available, Twlab.binary != nil else {
            print("skipping: \(TestNamespace.unavailableReason ?? "twlab not built")")
            return
        }
        let ns = try TestNamespace(
            tag: "adv-cli", addresses: [Self.server, Self.client],
            sysctls: [("net.ipv4.ip_local_port_range", "40000 40019"), ("net.ipv4.tcp_tw_reuse", "0")])
        defer { ns.remove() }
        let web = try ns.listen(Self.server, 80, backlog: 16)
        try ns.makeTimeWaits(12, from: Self.client, to: Self.server, 80, listener: web)
        try #require(try ns.settled(timeWait: 12))

        let r = try Twlab.run("advise", "--netns", ns.name, "--json", "--interval", "200ms")
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["twlab"] as? Int == 1)
        #expect(json["netns"] as? String == ns.name)
        let findings = try #require(json["findings"] as? [[String: Any]])
        #expect(findings.map { $0["id"] as? String } == ["port-pressure"])
        #expect(findings.first?["what_if"] is [String: Any])

        let text = try Twlab.run("advise", "--netns", ns.name, "--interval", "0", "--no-what-if")
        #expect(text.status == 0)
        #expect(text.stdout.contains("[warning] port-pressure: \(Self.client) -> \(Self.server):80"))

        for bad in [["--netns", "twlab-no-such-namespace"], ["--interval", "soon"]] {
            let b = try Twlab.run(["advise"] + bad)
            #expect(b.status == 2 && b.stdout.isEmpty && b.stderrLines.count == 1, "\(bad): \(b.stderr)")
        }
    }
}
