import Report
import Results
import Testing

/// `twlab compare --kernel-runs N`: the kernel is run again only while it disagrees, every run
/// is shown, and a scenario fails only when all N runs disagree.
@Suite("Comparison over several kernel runs")
struct ComparisonRunsTests {
    static func result(_ engine: String, overflows: Int) -> RunResult {
        RunResult(
            scenario: "s", engine: engine, kernel: "6.18",
            counters: [HostCounters(host: "server", values: [Outcome("TcpExtListenOverflows", overflows)])])
    }

    static let simulator = result("simulator", overflows: 582)
    /// The kernel may give 562..640 here.
    static let expectations = [
        Expectation(path: "counters.server.TcpExtListenOverflows", matcher: .range(min: 562, max: 640))
    ]

    /// Runs the kernel results `kernel` in turn; returns the agreeing run and the runs seen.
    func compare(_ kernel: [Int], runs: Int) throws -> (agreed: Int?, seen: [Int], differing: [Int]) {
        var next = 0
        var seen: [Int] = []
        var differing: [Int] = []
        let agreed = try Comparison.firstAgreement(
            simulator: Self.simulator, expectations: Self.expectations, runs: runs,
            kernel: {
                defer { next += 1 }
                return Self.result("kernel", overflows: kernel[next])
            }
        ) { run, result, c in
            seen.append(run)
            #expect(result.counters[0].value("TcpExtListenOverflows") == kernel[run - 1])
            differing.append(c.differences.count)
        }
        return (agreed, seen, differing)
    }

    @Test("an agreeing first run is the only run")
    func firstAgrees() throws {
        let r = try compare([600, 350], runs: 2)
        #expect(r.agreed == 1 && r.seen == [1] && r.differing == [0])
    }

    @Test("a disagreeing run is followed by another, which agrees; both are shown")
    func secondAgrees() throws {
        let r = try compare([350, 633], runs: 2)
        #expect(r.agreed == 2 && r.seen == [1, 2] && r.differing == [1, 0])
    }

    @Test("every run disagreeing fails, after exactly N runs; one run is the default behaviour")
    func allDisagree() throws {
        let r = try compare([350, 700, 600], runs: 2)
        #expect(r.agreed == nil && r.seen == [1, 2] && r.differing == [1, 1])
        let one = try compare([350, 600], runs: 1)
        #expect(one.agreed == nil && one.seen == [1])
    }

    @Test("a declared model gap: the simulator held to it, the kernel to its own values; compare shows it")
    func knownGap() {
        let gap = [
            Expectation(
                path: "counters.server.TcpExtListenOverflows", matcher: .range(min: 593, max: 652), model: 592
            )
        ]
        let sim = Self.result("simulator", overflows: 592)
        #expect(gap[0].check(sim).passed && gap[0].check(sim).knownGap)
        #expect(!gap[0].check(Self.result("simulator", overflows: 600)).passed)
        #expect(gap[0].check(Self.result("kernel", overflows: 600)).passed)
        #expect(!gap[0].check(Self.result("kernel", overflows: 592)).passed)

        let row = { (kernel: Int) in
            Comparison(simulator: sim, kernel: Self.result("kernel", overflows: kernel), expectations: gap)
                .rows
                .first { $0.key == "counters.server.TcpExtListenOverflows" }?.verdict
        }
        #expect(row(600) == .knownGap)
        #expect(row(592) == .same)
        // A kernel value outside its own band still differs.
        #expect(row(700) == .differs)
        let c = Comparison(simulator: sim, kernel: Self.result("kernel", overflows: 600), expectations: gap)
        #expect(c.differences.isEmpty)
        let text = ComparisonReport.render(
            c, scenario: "s", kernel: "6.18", everything: false, style: .init(color: false))
        #expect(text.contains("592     600  ≠ a known model gap (the scenario declares it)"))
        #expect(
            text.hasSuffix(
                "1 keys compared: 0 equal, 0 within the kernel's variation, 1 known model gap, 0 differ\n"))
    }
}
