import Advisor
import HostInspect
import TestSupport
import Testing

/// What depends on the inspected kernel and its sysctls: the FIN-WAIT-2 orphan lifetime (TW-9),
/// the SYN retry schedule (LQ-10), and the reuse age (TWR-3) in text and in the replay.
extension RuleTests {
    @Test("tcp_fin_timeout: the orphaned FIN-WAIT-2 lifetime, 2 × (value - 60) above 60 (TW-9)")
    func finTimeoutLifetime() throws {
        func evidence(_ value: Int) throws -> [String] {
            let advice = Advisor.advise(
                sample: Self.sample([], sysctls: ["net.ipv4.tcp_fin_timeout": "\(value)"]), previous: nil,
                netns: nil)
            return try #require(advice.findings.first { $0.id == "fin-timeout-not-time-wait" }).evidence
        }
        #expect(
            try evidence(70) == [
                "net.ipv4.tcp_fin_timeout = 70 (default 60)",
                "0 sockets in TIME-WAIT now; each lasts 60 s (TW-3)",
                "above 60, an orphaned FIN-WAIT-2 lasts 2 × (70 - 60) = 20 s in all: 10 s as a full socket, then 10 s as a timewait socket (TW-9)",
            ])
        #expect(
            try evidence(120).last
                == "above 60, an orphaned FIN-WAIT-2 lasts 2 × (120 - 60) = 120 s in all: 60 s as a full socket, then 60 s as a timewait socket (TW-9)"
        )
        #expect(
            try evidence(30).last
                == "an orphaned FIN-WAIT-2 lasts 30 s, or 3.5 × RTO if that is longer, as a timewait socket (TW-9)"
        )
    }

    @Test(
        "SYN retry schedule from the kernel and the sysctls (LQ-10)",
        arguments: [
            // (release, sysctls, schedule)
            (
                "6.18.44-fc-v657", [:],
                "1, 2, 3, 4, 5, 7, 11, … s after the first (LQ-10: tcp_syn_linear_timeouts = 4, tcp_syn_retries = 6)"
            ),
            (
                "6.18.44-fc-v657",
                ["net.ipv4.tcp_syn_linear_timeouts": "4", "net.ipv4.tcp_syn_retries": "2"],
                "1, 2, 3, 4, 5 s after the first (LQ-10: tcp_syn_linear_timeouts = 4, tcp_syn_retries = 2)"
            ),
            (
                "6.18.44-fc-v657", ["net.ipv4.tcp_syn_linear_timeouts": "0"],
                "1, 3, 7, 15, 31, 63 s after the first (LQ-10: tcp_syn_linear_timeouts = 0, tcp_syn_retries = 6)"
            ),
            (
                "6.1.0", [:],
                "1, 3, 7, 15, 31, 63 s after the first (LQ-10: before 6.5 the wait doubles from the first; tcp_syn_retries = 6)"
            ),
            (
                "2.6.32-754.el6", [:],
                "3, 9, 21, 45, 93 s after the first (LQ-10: before 6.5 the wait doubles from the first; tcp_syn_retries = 5)"
            ),
            // No readable release: the sysctl's presence tells ≥ 6.5.
            (
                "", ["net.ipv4.tcp_syn_linear_timeouts": "2"],
                "1, 2, 3, 5, 9, 17, 33, … s after the first (LQ-10: tcp_syn_linear_timeouts = 2, tcp_syn_retries = 6)"
            ),
        ] as [(String, [String: String], String)])
    func synRetrySchedule(release: String, sysctls: [String: String], schedule: String) throws {
        var cookiesOff = sysctls
        cookiesOff["net.ipv4.tcp_syncookies"] = "0"
        let drops = Advisor.advise(
            sample: Self.sample(
                [], sysctls: cookiesOff, counters: ["TcpExtTCPReqQFullDrop": 12], release: release),
            previous: nil, netns: nil)
        let d = try #require(drops.findings.first)
        #expect(d.id == "syn-drops-cookies-off")
        #expect(d.recommendation.contains("so clients do not wait to send their SYN again \(schedule). "))
        let full = DiagSocket.fixture(10, "0.0.0.0", 8080, "0.0.0.0", 0, recvQ: 3, sendQ: 2)
        let overflow = Advisor.advise(
            sample: Self.sample([full], sysctls: sysctls, release: release), previous: nil, netns: nil)
        let o = try #require(overflow.findings.first)
        #expect(o.id == "accept-queue-overflow")
        #expect(o.recommendation.contains("a client whose SYN is dropped sends it again \(schedule)."))
    }

    @Test("the reuse age in the advice is this kernel's (TWR-3): tcp_tw_reuse_delay, or the old rules")
    func reuseAgeText() throws {
        func recommendation(_ release: String, _ sysctls: [String: String] = [:]) throws -> String {
            var all = sysctls
            all["net.ipv4.tcp_tw_reuse"] = "0"
            let advice = Advisor.advise(
                sample: Self.sample(Self.timeWaits(50), sysctls: all, release: release), previous: nil,
                netns: nil, whatIf: false)
            return try #require(advice.findings.first { $0.id == "port-pressure" }).recommendation
        }
        #expect(
            try recommendation(Self.release, ["net.ipv4.tcp_tw_reuse_delay": "1000"]).contains(
                "take over a TIME-WAIT of the same 4-tuple once it is tcp_tw_reuse_delay (1 s) old, when"))
        #expect(
            try recommendation(Self.release, ["net.ipv4.tcp_tw_reuse_delay": "250"]).contains(
                "once it is tcp_tw_reuse_delay (250 ms) old, when"))
        #expect(
            try recommendation(Self.release).contains(
                "once it is tcp_tw_reuse_delay (1 s by default) old, when"))
        #expect(
            try recommendation("6.12.9").contains(
                "once it is 0-1 s old (the second after its last timestamp, on 4.19-6.13), when"))
        #expect(
            try recommendation("4.14.0").contains(
                "once it is 1-2 s old (more than a second after its last timestamp, before 4.19), when"))
    }

    @Test("the replay's kernel profile: the newest not newer than the host, or the first with its sysctls")
    func replayProfile() {
        let delay = ["net.ipv4.tcp_tw_reuse_delay"]
        #expect(RateReplay.kernelProfile(for: KernelVersion(6, 18, 44), having: delay) == "6.18")
        #expect(RateReplay.kernelProfile(for: KernelVersion(6, 15, 2), having: delay) == "6.18")
        #expect(RateReplay.kernelProfile(for: KernelVersion(6, 15, 2)) == "6.12")
        #expect(RateReplay.kernelProfile(for: KernelVersion(5, 4, 0)) == "5.4")
        #expect(RateReplay.kernelProfile(for: KernelVersion(4, 14, 0)) == "4.9")
        #expect(RateReplay.kernelProfile(for: KernelVersion(2, 6, 18)) == "2.6.32")
        // ip_local_reserved_ports appeared in 2.6.35: a 3.5 host with some gets 3.10.
        #expect(RateReplay.kernelProfile(for: KernelVersion(3, 5, 0)) == "2.6.32")
        #expect(
            RateReplay.kernelProfile(
                for: KernelVersion(3, 5, 0), having: ["net.ipv4.ip_local_reserved_ports"])
                == "3.10")
        #expect(RateReplay.kernelProfile(for: KernelVersion(7, 0, 0), having: delay) == "6.18")
        #expect(RateReplay.kernelProfile(for: nil) == "6.18")
    }

    @Test("the what-if replays the host's tcp_tw_reuse_delay on its kernel's profile (TWR-3)")
    func replayReuseDelay() throws {
        // As in portPressureWhatIf: 20/s against 100 ports, tcp_tw_reuse 0 now, 1 proposed.
        func proposed(_ release: String, _ sysctls: [String: String]) throws -> Prediction {
            var all = sysctls
            all["net.ipv4.tcp_tw_reuse"] = "0"
            let advice = Advisor.advise(
                sample: Self.sample(Self.timeWaits(40), sysctls: all, time: 10, release: release),
                previous: Self.sample(Self.timeWaits(20), time: 9, release: release), netns: nil)
            let f = try #require(advice.findings.first { $0.id == "port-pressure" })
            return try #require(f.whatIf).proposed
        }
        // The default 1 s: no failure (portPressureWhatIf).
        let quick = try proposed(Self.release, ["net.ipv4.tcp_tw_reuse_delay": "1000"])
        #expect(quick.portFailures == 0 && quick.outcomes["404"] == 2400)
        // 10 s: a port comes back only 10 s after its TIME-WAIT began, so 100 ports carry 10/s,
        // half the rate: about half the connects fail, from when the ports first run out.
        let slow = try proposed(Self.release, ["net.ipv4.tcp_tw_reuse_delay": "10000"])
        #expect(slow.attempts == 2400)
        #expect(slow.portFailures == 1200 && slow.outcomes["404"] == 1200)
        #expect(slow.firstFailureSeconds == 6)
        // 6.12: no tcp_tw_reuse_delay; the age test is the next second (TWR-3): no failure.
        let older = try proposed("6.12.9", [:])
        #expect(older.portFailures == 0 && older.outcomes["404"] == 2400)
    }
}
