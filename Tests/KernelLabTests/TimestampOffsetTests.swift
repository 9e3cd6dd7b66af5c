import Glibc
import Results
import TestSupport
import Testing

@testable import KernelLab

/// How the kernel engine measures a connection's TS offset (TS-3, lab-notes x1):
/// `getsockopt(TCP_TIMESTAMP)` minus CLOCK_MONOTONIC in ms. These need root (a namespace of
/// their own, with `tcp_timestamps` written inside it); elsewhere they are skipped with a
/// printed reason.
@Suite(.serialized) struct TimestampOffsetTests {
    static let address = "10.79.0.1"

    /// Connects twice over the namespace's `lo` (two source ports, two 4-tuples) and returns
    /// what the agent reports of each connection, read twice, 30 ms apart.
    func offsets(timestamps: Int, tag: String) throws -> [(UInt32?, UInt32?)] {
        let ns = try TestNamespace(
            tag: tag, addresses: [Self.address], sysctls: [("net.ipv4.tcp_timestamps", String(timestamps))])
        defer { ns.remove() }
        let listener = try ns.listen(Self.address, 8080, backlog: 8)
        var out: [(UInt32?, UInt32?)] = []
        for _ in 0..<2 {
            guard case .socket(let fd, _) = try ns.connect(from: Self.address, to: Self.address, 8080) else {
                throw TestNamespaceError("connect failed")
            }
            _ = try ns.accept(listener)
            let first = POSIXSocket.facts(fd).tsOffset
            usleep(30_000)
            out.append((first, POSIXSocket.facts(fd).tsOffset))
        }
        return out
    }

    /// `tcp_timestamps=2` has no offset: the measured one is 0 give or take the clock's tick,
    /// which proves the measurement reads the same clock and unit as the kernel's TSval.
    @Test func withoutAnOffsetTheMeasuredOffsetIsZero() throws {
        guard TestNamespace.available else { return }
        for (a, b) in try offsets(timestamps: 2, tag: "ts2") {
            let a = try #require(a)
            let b = try #require(b)
            #expect(abs(Int32(bitPattern: a)) <= 2)
            #expect(abs(Int32(bitPattern: b)) <= 2)
        }
    }

    /// With offsets (`tcp_timestamps=1`) each connection's measured offset stays put while its
    /// clock runs, to within the tolerance ``WorkloadResult/timestampOffsetTolerance``.
    @Test func anOffsetIsStableWhileTheClockRuns() throws {
        guard TestNamespace.available else { return }
        for (a, b) in try offsets(timestamps: 1, tag: "ts1") {
            let a = try #require(a)
            let b = try #require(b)
            #expect(WorkloadResult.distinctTimestampOffsets([a, b]) == 1)
        }
    }

    /// Without timestamps the connection has none to report.
    @Test func withoutTimestampsThereIsNoOffset() throws {
        guard TestNamespace.available else { return }
        for (a, b) in try offsets(timestamps: 0, tag: "ts0") {
            #expect(a == nil)
            #expect(b == nil)
        }
    }
}
