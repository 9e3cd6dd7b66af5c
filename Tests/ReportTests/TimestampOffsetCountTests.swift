import Results
import Testing

/// `ts_offsets` (lab-notes x1): distinct TS offsets on the circle of 2^32, offsets within the
/// measuring tolerance of a neighbour counted once; compared only where a scenario declares it.
@Suite struct TimestampOffsetCountTests {
    static let t = WorkloadResult.timestampOffsetTolerance

    @Test func countsOffsetsOnTheCircle() {
        #expect(WorkloadResult.distinctTimestampOffsets([]) == 0)
        #expect(WorkloadResult.distinctTimestampOffsets([7]) == 1)
        // Offset 0 measured a tick early and a tick late is one offset, across the wrap.
        #expect(WorkloadResult.distinctTimestampOffsets([0, 1, UInt32.max, UInt32.max - 1]) == 1)
        #expect(WorkloadResult.distinctTimestampOffsets([100, 100 + Self.t]) == 1)
        #expect(WorkloadResult.distinctTimestampOffsets([100, 100 + Self.t + 1]) == 2)
        // A chain of close offsets is one offset.
        #expect(WorkloadResult.distinctTimestampOffsets([0, 10, 20, 30, 40]) == 1)
        #expect(WorkloadResult.distinctTimestampOffsets([2_838_430_373, 5, 1_000_000, 4_000_000_000]) == 4)
    }

    @Test func comparedOnlyWhereDeclared() {
        func result(_ engine: String, _ offsets: Int) -> RunResult {
            RunResult(
                scenario: "x", engine: engine, kernel: "6.18",
                workloads: [WorkloadResult(name: "w", attempts: 6, outcomes: [], timestampOffsets: offsets)])
        }
        let undeclared = Comparison(
            simulator: result("simulator", 6), kernel: result("kernel", 5), expectations: [])
        #expect(undeclared.rows.first { $0.key == "workloads.w.ts_offsets" }?.verdict == .informational)
        let declared = Comparison(
            simulator: result("simulator", 6), kernel: result("kernel", 5),
            expectations: [Expectation(path: "workloads.w.ts_offsets", matcher: .range(min: 6, max: 6))])
        #expect(declared.differences.map(\.key) == ["workloads.w.ts_offsets"])
    }
}
