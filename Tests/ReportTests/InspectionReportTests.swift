import HostInspect
import Report
import TestSupport
import Testing

/// `twlab inspect`'s terminal report against golden files (TWLAB_RECORD=1 re-records them).
@Suite("InspectionReport")
struct InspectionReportTests {

    static let sysctls = [
        "net.ipv4.ip_local_port_range": "40000 40010",
        "net.ipv4.ip_local_reserved_ports": "40003",
        "net.ipv4.tcp_max_tw_buckets": "131072",
        "net.ipv4.tcp_tw_reuse": "2",
    ]

    /// 10.0.0.1 -> 10.0.0.5:80 with 6 TIME-WAITs of three ages and 1 ESTAB; a full listener on
    /// 8080 with one request; an IPv6 listener; an inbound TIME-WAIT.
    static func sample(time: Double, extra: Int) -> HostSample {
        var sockets = [
            DiagSocket.fixture(10, "0.0.0.0", 8080, "0.0.0.0", 0, recvQ: 11, sendQ: 10),
            DiagSocket.fixture(10, "::", 443, "::", 0, family: 6, sendQ: 4096),
            DiagSocket.fixture(3, "10.0.0.1", 8080, "10.0.0.7", 33000, timer: 1, expiresMs: 900),
            DiagSocket.fixture(1, "10.0.0.1", 40009, "10.0.0.5", 80),
            DiagSocket.fixture(6, "10.0.0.1", 8080, "10.0.0.9", 51000, timer: 3, expiresMs: 30_000),
        ]
        let remaining = [58_000, 57_000, 45_000, 35_000, 20_000, 5_000]
        for (k, ms) in remaining.prefix(6 - (1 - extra)).enumerated() {
            sockets.append(
                DiagSocket.fixture(6, "10.0.0.1", 40000 + k, "10.0.0.5", 80, timer: 3, expiresMs: ms))
        }
        return HostSample(
            time: time, sockets: sockets,
            counters: [
                "TcpExtListenOverflows": 100 + Int64(extra) * 89,
                "TcpExtListenDrops": 100 + Int64(extra) * 89,
                "TcpExtTW": 5000 + Int64(extra) * 2, "TcpActiveOpens": 10,
            ],
            sockstat: ["tw": 7], sysctls: sysctls, slab: .defaults, kernelRelease: "6.18.44-fc-v657")
    }

    @Test("two samples, 1 s apart")
    func twoSamples() throws {
        let i = Inspection(
            sample: Self.sample(time: 11, extra: 1), previous: Self.sample(time: 10, extra: 0), netns: "web-1"
        )
        try assertGolden(InspectionReport.render(i), named: "inspect-two-samples")
    }

    @Test("one sample")
    func oneSample() throws {
        let i = Inspection(sample: Self.sample(time: 11, extra: 1), netns: nil)
        try assertGolden(InspectionReport.render(i), named: "inspect-one-sample")
    }
}
