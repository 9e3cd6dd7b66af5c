import Foundation
import Report
import Results
import Scenario
import Testing

@Suite("TerminalReport")
struct TerminalReportTests {
    /// Every section; all expectations met.
    @Test func allExpectationsMet() throws {
        let scenario = Fixtures.scenario
        let result = Fixtures.result
        let verdicts = scenario.expect.map { $0.check(result) }
        #expect(verdicts.allSatisfy { $0.passed })
        let text = TerminalReport.render(result, scenario: scenario, verdicts: verdicts, style: .plain)
        try assertGolden(text, named: "report-all-met")
    }

    /// Every section; two expectations unmet, one of them naming a workload the result lacks.
    @Test func someExpectationsUnmet() throws {
        var scenario = Fixtures.scenario
        scenario.expect[0].matcher = .oneOf([12])
        scenario.expect[2].matcher = .range(min: 5, max: 6)
        scenario.expect.append(Expectation(path: "workloads.again.attempts", matcher: .oneOf([20])))
        let result = Fixtures.result
        let verdicts = scenario.expect.map { $0.check(result) }
        let text = TerminalReport.render(result, scenario: scenario, verdicts: verdicts, style: .plain)
        try assertGolden(text, named: "report-unmet")
    }

    /// Without verdicts there is no expectations section; a bare result renders too.
    @Test func minimal() throws {
        let scenario = Scenario(name: "tiny", hosts: [], workloads: [])
        let result = RunResult(
            scenario: "tiny", engine: "simulator", kernel: "6.18",
            workloads: [WorkloadResult(name: "w", attempts: 1, outcomes: [Outcome("pending", 1)])],
            snapshots: [
                Snapshot(at: "end", time: 0, hosts: [HostSnapshot(host: "a", states: [], listeners: [])])
            ])
        let text = TerminalReport.render(result, scenario: scenario, verdicts: [], style: .plain)
        try assertGolden(text, named: "report-minimal")
        #expect(!text.contains("expectations"))
    }

    @Test func colorOnlyWhenAsked() {
        var scenario = Fixtures.scenario
        scenario.expect[0].matcher = .oneOf([12])
        let result = Fixtures.result
        let verdicts = scenario.expect.map { $0.check(result) }
        let plain = TerminalReport.render(result, scenario: scenario, verdicts: verdicts, style: .plain)
        let colored = TerminalReport.render(
            result, scenario: scenario, verdicts: verdicts, style: .init(color: true))
        #expect(!plain.contains("\u{1B}"))
        #expect(colored.contains("\u{1B}[31m✘\u{1B}[0m workloads.burst.outcomes.404 = 11, kernel gave 12"))
        #expect(colored.contains("\u{1B}[31m4 of 5 met\u{1B}[0m"))
        let allMet = TerminalReport.render(
            result, scenario: Fixtures.scenario, verdicts: Fixtures.scenario.expect.map { $0.check(result) },
            style: .init(color: true))
        #expect(allMet.contains("\u{1B}[32m5 of 5 met\u{1B}[0m"))
    }

    @Test func noTrailingSpaces() {
        let text = TerminalReport.render(
            Fixtures.result, scenario: Fixtures.scenario, verdicts: [], style: .plain)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            #expect(!line.hasSuffix(" "), "trailing space in \(line.debugDescription)")
        }
        #expect(text.hasSuffix("\n") && !text.hasSuffix("\n\n"))
    }

    /// The histogram is `sort | uniq -c` of curl's `%{http_code}` lines with the errno added.
    @Test func histogramLikeUniqC() {
        let result = RunResult(
            scenario: "h", engine: "simulator", kernel: "6.18",
            workloads: [
                WorkloadResult(
                    name: "w", attempts: 1_234_567 + 9 + 3 + 1,
                    outcomes: [
                        Outcome("ECONNREFUSED", 3), Outcome("404", 1_234_567), Outcome("EADDRNOTAVAIL", 9),
                        Outcome("200", 1),
                    ])
            ])
        let text = TerminalReport.render(
            result, scenario: Scenario(name: "h", hosts: [], workloads: []), verdicts: [], style: .plain)
        #expect(
            text.contains(
                """
                      9 000 EADDRNOTAVAIL
                      3 000 ECONNREFUSED
                      1 200
                1234567 404
                """))
    }
}

/// Compares `text` with `Snapshots/NAME.txt`; with `TWLAB_RECORD=1` writes the file instead.
func assertGolden(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation)
    throws
{
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Snapshots").appendingPathComponent("\(name).txt")
    if ProcessInfo.processInfo.environment["TWLAB_RECORD"] == "1" {
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    let golden = try String(contentsOf: url, encoding: .utf8)
    #expect(
        text == golden, "output differs from Snapshots/\(name).txt (TWLAB_RECORD=1 re-records it):\n\(text)",
        sourceLocation: sourceLocation)
}
