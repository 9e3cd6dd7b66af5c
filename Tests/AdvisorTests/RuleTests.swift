import Advisor
import Foundation
import HostInspect
import Report
import TestSupport
import Testing

/// Each rule from fixed samples: the numbers that trigger it and the ones that do not, and
/// the what-if's exact predictions (the simulator is deterministic).
@Suite("Advice rules from fixed samples")
struct RuleTests {
    static let release = "6.18.44-fc-v657"

    /// `count` client TIME-WAITs 10.0.0.1 -> 10.0.0.5:80 on ports 40000, 40002, ... (connect()'s
    /// parity), 30 s left each.
    static func timeWaits(_ count: Int, first: Int = 40000, step: Int = 2) -> [DiagSocket] {
        (0..<count).map {
            DiagSocket.fixture(6, "10.0.0.1", first + step * $0, "10.0.0.5", 80, timer: 3, expiresMs: 30_000)
        }
    }

    static func sample(
        _ sockets: [DiagSocket], sysctls: [String: String] = [:], counters: [String: Int64] = [:],
        time: Double = 10, release: String = release
    ) -> HostSample {
        var all = ["net.ipv4.ip_local_port_range": "40000 40099", "net.ipv4.tcp_tw_reuse": "2"]
        all.merge(sysctls) { $1 }
        return HostSample(
            time: time, sockets: sockets, counters: counters, sysctls: all, kernelRelease: release)
    }

    static func ids(_ s: HostSample, previous: HostSample? = nil) -> [String] {
        Advisor.advise(sample: s, previous: previous, netns: nil, whatIf: false).findings.map(\.id)
    }

    @Test(
        "port pressure: 50 of 100 ports fires with tcp_tw_reuse 0 or 2 (non-loopback), not with 1, not at 49")
    func portPressure() throws {
        #expect(Self.ids(Self.sample(Self.timeWaits(50))) == ["port-pressure"])
        #expect(
            Self.ids(Self.sample(Self.timeWaits(50), sysctls: ["net.ipv4.tcp_tw_reuse": "0"])) == [
                "port-pressure"
            ])
        #expect(Self.ids(Self.sample(Self.timeWaits(50), sysctls: ["net.ipv4.tcp_tw_reuse": "1"])).isEmpty)
        #expect(Self.ids(Self.sample(Self.timeWaits(49))).isEmpty)
        let advice = Advisor.advise(
            sample: Self.sample(Self.timeWaits(90, step: 1)), previous: nil, netns: nil, whatIf: false)
        let f = try #require(advice.findings.first)
        #expect(f.severity == .critical)
        #expect(
            f.evidence[0]
                == "10.0.0.1 -> 10.0.0.5:80 holds 90 of 100 usable ports (90%): 90 in TIME-WAIT, 0 connected")
        // Loopback destinations: tcp_tw_reuse=2 applies (TWR-2).
        let loop = (0..<60).map {
            DiagSocket.fixture(6, "127.0.0.1", 40000 + 2 * $0, "127.0.0.1", 80, timer: 3, expiresMs: 30_000)
        }
        #expect(Self.ids(Self.sample(loop)).isEmpty)
    }

    @Test("port pressure with two samples: rate, exhaustion time, and the simulator's what-if")
    func portPressureWhatIf() throws {
        // 20 new TIME-WAITs in 1 s: 20/s against 100 ports, 40 held.
        let before = Self.sample(Self.timeWaits(20), time: 9)
        let now = Self.sample(Self.timeWaits(40), sysctls: ["net.ipv4.tcp_tw_reuse": "0"], time: 10)
        let advice = Advisor.advise(sample: now, previous: before, netns: nil)
        let f = try #require(advice.findings.first { $0.id == "port-pressure" })
        #expect(f.severity == .critical)
        #expect(f.evidence[1] == "20/s new connections over 1 s; at that rate the ports run out in 3 s")
        let w = try #require(f.whatIf)
        #expect(w.workload == "10.0.0.1 -> 10.0.0.5:80, 20/s (measured over 1 s) open loop for 120 s")
        #expect(w.current.sysctls == ["net.ipv4.tcp_tw_reuse": "0"])
        #expect(w.proposed.sysctls == ["net.ipv4.tcp_tw_reuse": "1"])
        #expect(w.current.attempts == 2400 && w.proposed.attempts == 2400)
        // 100 ports at 20/s run out at 5 s; each TIME-WAIT frees its port after 60 s + (0, 2.048]
        // (TW-3), so about 100 of every 1,200 connects a minute get through.
        #expect(w.current.firstFailureSeconds == 6)
        #expect(w.current.peakPortsHeld == 100)
        #expect(w.current.portFailures == 2200)
        #expect(w.current.outcomes["404"] == 200)
        // With reuse, a TIME-WAIT older than 1 s is taken over (TWR-2): no failure.
        #expect(w.proposed.portFailures == 0 && w.proposed.outcomes["404"] == 2400)
        #expect(w.proposed.firstFailureSeconds == nil)
        #expect(w.proposed.peakPortsHeld < 100)
    }

    @Test("port pressure with tcp_tw_reuse applying: only ports it cannot free count (ESTAB, FIN-WAIT-2)")
    func portPressureHeldByOpenConnections() throws {
        let reuse = ["net.ipv4.tcp_tw_reuse": "1"]
        // 50 ESTAB on connect()'s parity: reuse takes TIME-WAITs only, so 50% stays held.
        let estab = (0..<50).map { DiagSocket.fixture(1, "10.0.0.1", 40000 + 2 * $0, "10.0.0.5", 80) }
        let advice = Advisor.advise(sample: Self.sample(estab, sysctls: reuse), previous: nil, netns: nil)
        #expect(advice.findings.map(\.id) == ["port-pressure"])
        let f = try #require(advice.findings.first)
        #expect(f.severity == .warning)
        #expect(
            f.title
                == "10.0.0.1 -> 10.0.0.5:80 has 50% of its ephemeral ports held by open connections; tcp_tw_reuse cannot free them"
        )
        #expect(
            f.evidence == [
                "10.0.0.1 -> 10.0.0.5:80 holds 50 of 100 usable ports (50%): 50 not in TIME-WAIT (50 connected), 0 in TIME-WAIT",
                "net.ipv4.tcp_tw_reuse = 1: connect() may take over a TIME-WAIT toward this destination (TWR-2), never a port of a connection still open",
                "net.ipv4.ip_local_port_range = 40000 40099",
            ])
        #expect(f.recommendation.contains("a pool with a cap"))
        #expect(f.whatIf == nil)
        // 45 ESTAB and 45 orphaned FIN-WAIT-2 (no TIME-WAIT to take over): 90%, critical.
        let closing = (0..<45).map {
            DiagSocket.fixture(5, "10.0.0.1", 40001 + 2 * $0, "10.0.0.5", 80, timer: 3, expiresMs: 30_000)
        }
        let full = Advisor.advise(
            sample: Self.sample(Array(estab.prefix(45)) + closing, sysctls: reuse), previous: nil, netns: nil)
        #expect(full.findings.map(\.severity) == [.critical])
        // 30 ESTAB and 30 TIME-WAIT: the TIME-WAITs push it over 50%, and reuse frees them.
        let mixed = Array(estab.prefix(30)) + Self.timeWaits(30, first: 40060)
        #expect(Self.ids(Self.sample(mixed, sysctls: reuse)).isEmpty)
        // The same with tcp_tw_reuse=0: every held port counts.
        #expect(Self.ids(Self.sample(mixed, sysctls: ["net.ipv4.tcp_tw_reuse": "0"])) == ["port-pressure"])
    }

    @Test("port pressure: severity follows the exhaustion estimate, which exists only within 60 s")
    func portPressureSeverity() throws {
        func finding(_ before: Int, _ now: Int, step: Int = 2) -> Finding? {
            Advisor.advise(
                sample: Self.sample(
                    Self.timeWaits(now, step: step), sysctls: ["net.ipv4.tcp_tw_reuse": "0"], time: 10),
                previous: Self.sample(Self.timeWaits(before, step: step), time: 9), netns: nil, whatIf: false
            ).findings.first
        }
        // One sample, 50 of 100 held: no rate, so no estimate: a warning.
        let one = try #require(
            Advisor.advise(sample: Self.sample(Self.timeWaits(50)), previous: nil, netns: nil, whatIf: false)
                .findings.first)
        #expect(one.severity == .warning)
        #expect(
            one.title
                == "10.0.0.1 -> 10.0.0.5:80 is running out of ephemeral ports; tcp_tw_reuse does not apply")
        // 10 of 100 held, 5/s new: (100 - 10) / 5 = 18 s, before the first TIME-WAIT frees
        // its port at 30 s: critical although only 10% is held.
        let fast = try #require(finding(5, 10))
        #expect(fast.severity == .critical)
        #expect(
            fast.title
                == "10.0.0.1 -> 10.0.0.5:80 runs out of ephemeral ports in 18 s at the observed rate; tcp_tw_reuse does not apply"
        )
        #expect(fast.evidence[1] == "5/s new connections over 1 s; at that rate the ports run out in 18 s")
        // 1/s new: the TIME-WAITs free ports faster than they are taken: no estimate, no finding.
        #expect(finding(9, 10) == nil)
        // 40 held at 20/s: 3 s.
        #expect(finding(20, 40)?.title.contains("runs out of ephemeral ports in 3 s") == true)
        // All 100 held: run out already.
        let gone = try #require(finding(90, 100, step: 1))
        #expect(gone.severity == .critical)
        #expect(
            gone.title
                == "10.0.0.1 -> 10.0.0.5:80 has run out of ephemeral ports; tcp_tw_reuse does not apply")
    }

    @Test("the replay keeps to maxAttempts at any rate: 50,000/s for 12 s, 7,000/s for 85.7 s")
    func replayCap() throws {
        func replay(_ rate: Double) -> RateReplay {
            RateReplay(
                source: "10.0.0.1", destination: "10.0.0.5", port: 80, perSecond: rate,
                portRange: "40000 40099",
                reservedPorts: "")
        }
        #expect(RateReplay.maxAttempts == 600_000)
        #expect(replay(20).seconds == 120)
        #expect(replay(5000).seconds == 120)
        #expect(replay(7000).seconds == 85.714)
        #expect(replay(7000).description.hasSuffix("7,000/s (given) open loop for 85.7 s"))
        let fast = replay(50_000)
        #expect(fast.seconds == 12)
        #expect(fast.description == "10.0.0.1 -> 10.0.0.5:80, 50,000/s (given) open loop for 12 s")
        let reuse = ["net.ipv4.tcp_tw_reuse": "1"]
        let w = try fast.whatIf(current: (reuse, [:]), proposed: (reuse, [:]))
        #expect(w.current.attempts == 600_000)
        #expect(w.current.attempts <= RateReplay.maxAttempts)
    }

    @Test(
        "port pressure toward a peer without timestamps: the what-if keeps them off, so reuse does not help")
    func portPressurePeerWithoutTimestamps() throws {
        let estab = DiagSocket.fixture(1, "10.0.0.1", 40098, "10.0.0.5", 80, timestamps: false)
        let before = Self.sample(Self.timeWaits(20) + [estab], time: 9)
        let now = Self.sample(Self.timeWaits(40) + [estab], sysctls: ["net.ipv4.tcp_tw_reuse": "0"], time: 10)
        let advice = Advisor.advise(sample: now, previous: before, netns: nil)
        #expect(advice.findings.map(\.id) == ["port-pressure"])
        let f = try #require(advice.findings.first)
        #expect(f.evidence.contains("1 of 1 live connections to 10.0.0.5:80 have no timestamps (tcp_info)"))
        #expect(f.recommendation.contains("The peer does not negotiate timestamps"))
        let w = try #require(f.whatIf)
        // TWR-2.1: no TIME-WAIT of a connection without timestamps is reusable, so tcp_tw_reuse=1
        // changes nothing here; the replay says so instead of promising "none". The replay
        // starts empty at 20/s on 100 ports, so both runs fail as the reuse-0 run above does.
        #expect(w.current.portFailures == 2200)
        #expect(w.proposed.portFailures == w.current.portFailures)
        #expect(w.proposed.outcomes == w.current.outcomes)
    }

    @Test("tcp_tw_reuse without timestamps: this host's sysctl, or a peer that does not negotiate them")
    func reuseWithoutTimestamps() {
        let reuse = ["net.ipv4.tcp_tw_reuse": "1"]
        #expect(Self.ids(Self.sample(Self.timeWaits(5), sysctls: reuse)).isEmpty)
        var off = reuse
        off["net.ipv4.tcp_timestamps"] = "0"
        #expect(Self.ids(Self.sample(Self.timeWaits(5), sysctls: off)) == ["tw-reuse-without-timestamps"])
        // Peer without timestamps: an ESTAB connection to it says so in tcp_info.
        let estab = DiagSocket.fixture(1, "10.0.0.1", 40090, "10.0.0.5", 80, timestamps: false)
        #expect(
            Self.ids(Self.sample(Self.timeWaits(5) + [estab], sysctls: reuse)) == [
                "tw-reuse-without-timestamps"
            ])
        let withTS = DiagSocket.fixture(1, "10.0.0.1", 40090, "10.0.0.5", 80, timestamps: true)
        #expect(Self.ids(Self.sample(Self.timeWaits(5) + [withTS], sysctls: reuse)).isEmpty)
        // tcp_tw_reuse 0: nothing to say about timestamps (port pressure speaks, if any).
        #expect(Self.ids(Self.sample(Self.timeWaits(5), sysctls: ["net.ipv4.tcp_timestamps": "0"])).isEmpty)
    }

    @Test("bind before connect: odd ports (bind(0)'s parity) while connect()'s parity is free")
    func bindBeforeConnect() {
        // 10 ESTAB on odd ports to 10 destinations.
        let bound = (0..<10).map { DiagSocket.fixture(1, "10.0.0.1", 40001 + 2 * $0, "10.0.1.\($0)", 443) }
        #expect(Self.ids(Self.sample(bound)) == ["bind-before-connect"])
        let connected = (0..<10).map {
            DiagSocket.fixture(1, "10.0.0.1", 40000 + 2 * $0, "10.0.1.\($0)", 443)
        }
        #expect(Self.ids(Self.sample(connected)).isEmpty)
        // Too few to tell; and kernels before 4.6 had no parity split (EP-7).
        #expect(Self.ids(Self.sample(Array(bound.prefix(7)))).isEmpty)
        #expect(Self.ids(Self.sample(bound, release: "4.4.0")).isEmpty)
    }

    @Test("tcp_fin_timeout: any value but 60 is an info finding; the what-if shows TIME-WAIT unchanged")
    func finTimeout() throws {
        #expect(Self.ids(Self.sample([], sysctls: ["net.ipv4.tcp_fin_timeout": "60"])).isEmpty)
        let advice = Advisor.advise(
            sample: Self.sample(Self.timeWaits(30), sysctls: ["net.ipv4.tcp_fin_timeout": "10"]),
            previous: nil,
            netns: nil)
        let f = try #require(advice.findings.first)
        #expect(f.id == "fin-timeout-not-time-wait" && f.severity == .info)
        let w = try #require(f.whatIf)
        #expect(w.current.timeWaitAtEnd == w.proposed.timeWaitAtEnd)
        #expect(w.current.outcomes == w.proposed.outcomes)
        #expect(
            Self.ids(Self.sample([], sysctls: ["net.ipv4.tcp_fin_timeout": "120"])) == [
                "fin-timeout-not-time-wait"
            ])
    }

    @Test("accept queue: full now or overflow counters; the backlog compared with somaxconn")
    func acceptQueue() throws {
        let full = DiagSocket.fixture(10, "0.0.0.0", 8080, "0.0.0.0", 0, recvQ: 3, sendQ: 2)
        let fine = DiagSocket.fixture(10, "0.0.0.0", 8080, "0.0.0.0", 0, recvQ: 0, sendQ: 2)
        #expect(Self.ids(Self.sample([fine])).isEmpty)
        let advice = Advisor.advise(
            sample: Self.sample(
                [full], sysctls: ["net.core.somaxconn": "4096"], counters: ["TcpExtListenOverflows": 7]),
            previous: nil, netns: nil)
        let f = try #require(advice.findings.first)
        #expect(f.id == "accept-queue-overflow" && f.severity == .critical)
        #expect(
            f.evidence.contains(
                "listener 0.0.0.0:8080: Recv-Q 3, Send-Q 2 (the accept queue holds 3, LQ-2): full now"))
        #expect(f.recommendation.contains("below net.core.somaxconn (4096)"))
        // Overflows since boot, nothing full now: a warning without a listener.
        let past = Advisor.advise(
            sample: Self.sample([fine], counters: ["TcpExtListenOverflows": 7]), previous: nil, netns: nil)
        #expect(past.findings.map(\.severity) == [.warning])
        // Backlog at somaxconn: raise both.
        let capped = DiagSocket.fixture(10, "0.0.0.0", 80, "0.0.0.0", 0, recvQ: 129, sendQ: 128)
        let c = Advisor.advise(
            sample: Self.sample([capped], sysctls: ["net.core.somaxconn": "128"]), previous: nil, netns: nil)
        #expect(
            c.findings.first?.recommendation.hasPrefix("The backlog is already net.core.somaxconn (128)")
                == true)
    }

    @Test("SYN drops: TCPReqQFullDrop with cookies off fires; with cookies on it does not")
    func synDrops() {
        let drops: [String: Int64] = ["TcpExtTCPReqQFullDrop": 12]
        #expect(
            Self.ids(Self.sample([], sysctls: ["net.ipv4.tcp_syncookies": "0"], counters: drops)) == [
                "syn-drops-cookies-off"
            ])
        #expect(Self.ids(Self.sample([], sysctls: ["net.ipv4.tcp_syncookies": "1"], counters: drops)).isEmpty)
        #expect(Self.ids(Self.sample([], sysctls: ["net.ipv4.tcp_syncookies": "0"])).isEmpty)
    }

    @Test("tw buckets and tw_recycle")
    func buckets() {
        #expect(
            Self.ids(Self.sample([], counters: ["TcpExtTCPTimeWaitOverflow": 3])) == ["tw-buckets-overflow"])
        #expect(Self.ids(Self.sample([], counters: ["TcpExtTCPTimeWaitOverflow": 0])).isEmpty)
        // tcp_tw_recycle exists before 4.12 only; this kernel cannot show it, so only here.
        #expect(
            Self.ids(Self.sample([], sysctls: ["net.ipv4.tcp_tw_recycle": "1"], release: "3.10.0")) == [
                "tw-recycle-on"
            ])
        #expect(
            Self.ids(Self.sample([], sysctls: ["net.ipv4.tcp_tw_recycle": "0"], release: "3.10.0")).isEmpty)
    }

    @Test("JSON: the contract's keys; the report: one block per finding, severity first")
    func rendering() throws {
        let advice = Advisor.advise(
            sample: Self.sample(Self.timeWaits(90, step: 1), sysctls: ["net.ipv4.tcp_fin_timeout": "30"]),
            previous: nil,
            netns: "web-1")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(advice.jsonText().utf8)) as? [String: Any])
        #expect(json["twlab"] as? Int == 1)
        let findings = try #require(json["findings"] as? [[String: Any]])
        #expect(findings.map { $0["id"] as? String } == ["port-pressure", "fin-timeout-not-time-wait"])
        for f in findings {
            #expect(Set(f.keys).isSuperset(of: ["id", "severity", "evidence", "recommendation", "what_if"]))
        }
        let whatIf = try #require(findings[0]["what_if"] as? [String: Any])
        #expect((whatIf["current"] as? [String: Any])?["outcomes"] != nil)
        let text = AdviceReport.render(advice)
        #expect(
            text.hasPrefix(
                "twlab advise: network namespace web-1, Linux 6.18.44-fc-v657, from 1 sample\n2 findings: 1 critical, 1 info\n"
            ))
        #expect(text.contains("\n[critical] port-pressure: "))
        #expect(
            text.contains(
                "\n  what-if: the simulator replays 10.0.0.1 -> 10.0.0.5:80, 1.5/s (estimated as TIME-WAIT / 60 s)"
            ))
        #expect(
            !text.split(separator: "\n").contains {
                $0.hasSuffix(" ") || $0.count > 100 && $0.contains(" ") && !$0.hasPrefix("[")
            })
    }
}
