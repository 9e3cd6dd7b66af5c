import Foundation
import Report
import Results
import Scenario
import Testing

/// A small scenario and a hand-built result with a time series: a curl burst that runs out of
/// ports on the client, a listener whose accept queue fills on the server, counters on both.
enum HTMLFixtures {
    /// A whole page that loads nothing and runs nothing, with a dark theme.
    static func expectSelfContained(_ html: String) {
        let lower = html.lowercased()
        for banned in [
            "<script", " src=", " href=", "url(", "@import", "http://", "https://", "<link", "<img",
        ] {
            #expect(!lower.contains(banned), "the page contains \(banned)")
        }
        #expect(!lower.contains(" onload=") && !lower.contains(" onclick="))
        #expect(html.hasPrefix("<!DOCTYPE html>\n") && html.hasSuffix("</html>\n"))
        #expect(html.contains("prefers-color-scheme: dark"))
    }

    static let yaml = """
        twlab: 1
        name: html-small
        description: "11 client ports, tcp_tw_reuse=1: a <burst> & \\"friends\\" that run out of ports"
        seed: 7
        network: { delay: 0.05ms }
        hosts:
          client:
            address: 10.77.0.11
            sysctl:
              net.ipv4.ip_local_port_range: "1024 1034"
              net.ipv4.tcp_tw_reuse: 1
          server:
            address: 10.77.0.2
            sysctl: { net.core.somaxconn: 10 }
            listen:
              - port: 80
                backlog: 511
                http: { status: 404 }
        workloads:
          - name: burst
            from: client
            to: server:80
            kind: curl
            count: 22
            timeout: 10s
        observe:
          - at: end
        sample_every: 1s
        expect:
          workloads.burst.outcomes.404: 11
          workloads.burst.outcomes.EADDRNOTAVAIL: [9, 10]
          snapshots.end.hosts.client.states.TIME-WAIT: [10, 11]
        """

    static var scenario: Scenario {
        // swift-format-ignore: NeverUseForceTry
        try! ScenarioLoader.parse(yaml, file: "html-small.yaml")
    }

    static var result: RunResult {
        RunResult(
            scenario: "html-small", engine: "simulator", kernel: "6.18",
            workloads: [
                WorkloadResult(
                    name: "burst", attempts: 22,
                    outcomes: [
                        Outcome("404", 11), Outcome("EADDRNOTAVAIL", 9), Outcome("ECONNRESET", 1),
                        Outcome("ETIMEDOUT", 1),
                    ],
                    latency: Latency(p50: 0.41, p99: 1.1), localPorts: Array(1024...1033))
            ],
            snapshots: [
                Snapshot(
                    at: "end", time: 4.25,
                    hosts: [
                        HostSnapshot(host: "client", states: [Outcome("TIME-WAIT", 10)], listeners: []),
                        HostSnapshot(
                            host: "server", states: [Outcome("LISTEN", 1)],
                            listeners: [ListenerSnapshot(port: 80, recvQ: 0, sendQ: 10)]),
                    ])
            ],
            counters: [
                HostCounters(
                    host: "client", values: [Outcome("TcpActiveOpens", 12), Outcome("TcpExtTW", 10)]),
                HostCounters(
                    host: "server",
                    values: [Outcome("TcpExtListenOverflows", 15), Outcome("TcpPassiveOpens", 12)]),
            ],
            series: Series(
                time: [1, 2, 3, 4, 5],
                hosts: [
                    HostSeries(
                        host: "client",
                        states: [
                            NamedSeries("ESTAB", [2, 1, 0, 0, 0]),
                            NamedSeries("TIME-WAIT", [4, 8, 10, 10, 10]),
                        ],
                        ports: [NamedSeries("10.77.0.11>10.77.0.2:80", [6, 9, 10, 10, 10])],
                        counters: [
                            NamedSeries("TcpActiveOpens", [6, 3, 2, 1, 0]),
                            NamedSeries("TcpExtTW", [4, 4, 2, 0, 0]),
                        ]),
                    HostSeries(
                        host: "server",
                        states: [
                            NamedSeries("ESTAB", [2, 1, 0, 0, 0]), NamedSeries("LISTEN", [1, 1, 1, 1, 1]),
                        ],
                        listeners: [
                            ListenerSeries(
                                port: 80, backlog: 10, recvQ: [0, 3, 11, 11, 0], synRecv: [0, 2, 5, 3, 0])
                        ],
                        counters: [
                            NamedSeries("TcpExtListenOverflows", [0, 0, 4, 9, 2]),
                            NamedSeries("TcpPassiveOpens", [6, 3, 2, 1, 0]),
                        ]),
                ],
                workloads: [
                    WorkloadSeries(
                        workload: "burst",
                        outcomes: [
                            NamedSeries("404", [6, 3, 2, 0, 0]),
                            NamedSeries("EADDRNOTAVAIL", [0, 2, 4, 3, 0]),
                            NamedSeries("ECONNRESET", [0, 0, 1, 0, 0]),
                            NamedSeries("ETIMEDOUT", [0, 0, 0, 1, 0]),
                        ])
                ]))
    }

    /// The polylines each chart of ``result`` has, in page order: burst's outcomes; client
    /// states, ports, counters; server states, listener 80, counters.
    static let seriesPerChart = [4, 2, 1, 2, 2, 2, 2]

    /// The kernel's result for the comparison: one more TIME-WAIT and EADDRNOTAVAIL moved.
    static var kernelResult: RunResult {
        var r = result
        r.engine = "kernel"
        r.kernel = "6.18.44"
        r.workloads[0].outcomes = [Outcome("404", 10), Outcome("EADDRNOTAVAIL", 12)]
        r.snapshots[0].hosts[0].states = [Outcome("TIME-WAIT", 12)]
        r.series.hosts[0].states[1].values = [5, 9, 12, 12, 12]
        r.series.workloads[0].outcomes = [
            NamedSeries("404", [5, 3, 2, 0, 0]), NamedSeries("EADDRNOTAVAIL", [0, 3, 5, 4, 0]),
        ]
        return r
    }

    static func html() -> String {
        let s = scenario
        return HTMLReport.render(result, scenario: s, verdicts: s.expect.map { $0.check(result) })
    }

    static func comparisonHTML() -> String {
        let s = scenario
        let c = Comparison(simulator: result, kernel: kernelResult, expectations: s.expect)
        return HTMLReport.renderComparison(
            simulator: result, kernel: kernelResult, comparison: c, scenario: s)
    }

    /// The text of each `<figure class="chart"` … `</figure>` in `html`.
    static func figures(_ html: String) -> [Substring] {
        html.components(separatedBy: "<figure class=\"chart\"").dropFirst().map { piece in
            piece.split(separator: "</figure>", maxSplits: 1, omittingEmptySubsequences: false)[0]
        }
    }

    static func occurrences(_ needle: String, in text: some StringProtocol) -> Int {
        String(text).components(separatedBy: needle).count - 1
    }
}

@Suite("HTMLReport")
struct HTMLReportTests {
    @Test func goldenReport() throws {
        try assertHTMLGolden(HTMLFixtures.html(), named: "html-report")
    }

    @Test func goldenComparison() throws {
        try assertHTMLGolden(HTMLFixtures.comparisonHTML(), named: "html-comparison")
    }

    /// The same result gives the same bytes, rendered twice or from values built twice.
    @Test func deterministicBytes() {
        let a = HTMLFixtures.html()
        let b = HTMLFixtures.html()
        #expect(Array(a.utf8) == Array(b.utf8))
        let s = HTMLFixtures.scenario
        let c = HTMLReport.render(
            HTMLFixtures.result, scenario: s, verdicts: s.expect.map { $0.check(HTMLFixtures.result) })
        #expect(Array(a.utf8) == Array(c.utf8))
        #expect(Array(HTMLFixtures.comparisonHTML().utf8) == Array(HTMLFixtures.comparisonHTML().utf8))
    }

    /// Nothing is loaded from anywhere and nothing runs.
    @Test(arguments: ["report", "comparison"])
    func selfContained(_ page: String) {
        HTMLFixtures.expectSelfContained(
            page == "report" ? HTMLFixtures.html() : HTMLFixtures.comparisonHTML())
    }

    /// Strings from the scenario are escaped.
    @Test func escapesScenarioText() {
        let html = HTMLFixtures.html()
        #expect(html.contains("a &lt;burst&gt; &amp; &quot;friends&quot; that run out of ports"))
        #expect(!html.contains("<burst>"))
    }

    /// One figure per chart with the expected polylines, axes labelled with units.
    @Test func chartsAndAxes() {
        let html = HTMLFixtures.html()
        let figures = HTMLFixtures.figures(html)
        #expect(figures.map { HTMLFixtures.occurrences("<polyline", in: $0) } == HTMLFixtures.seriesPerChart)
        #expect(figures.map { HTMLFixtures.occurrences("<figcaption>", in: $0) } == figures.map { _ in 1 })
        for (figure, count) in zip(figures, HTMLFixtures.seriesPerChart) {
            #expect(figure.hasPrefix(" id=\"chart-") && figure.contains("data-series=\"\(count)\""))
            #expect(figure.contains(">time (s)</text>"))
        }
        for unit in ["sockets", "ports", "requests per interval", "queue length", "count per interval"] {
            #expect(html.contains("text-anchor=\"middle\">\(unit)</text>"), "no axis labelled \(unit)")
        }
        #expect(html.contains("class=\"series series-TIME-WAIT c1\""))
        #expect(html.contains("class=\"series series-EADDRNOTAVAIL c1\""))
        // 1024-1034 is 11 ports; connect() scans 10 of them (EP-1).
        #expect(
            html.contains(
                ">ports in the range: 11 (one connect() scans 10: a fill may stop there, EP-1)</text>"))
        #expect(html.contains(">accept queue limit: backlog 10 + 1</text>"))
    }

    /// Without series: the tables and the histogram, and how to get charts.
    @Test func withoutSeries() {
        var result = HTMLFixtures.result
        result.series = Series()
        let html = HTMLReport.render(result, scenario: HTMLFixtures.scenario, verdicts: [])
        #expect(!html.contains("<svg") && !html.contains("<figure"))
        #expect(
            html.contains("<code>sample_every: 1s</code>") && html.contains("<code>--sample 100ms</code>"))
        #expect(html.contains("<table class=\"histogram\">"))
        #expect(html.contains("<code>000 EADDRNOTAVAIL</code>"))
        #expect(!html.contains("id=\"expectations\""))
    }

    /// Both engines on each chart; the keys that differ highlighted in the table and legends.
    @Test func comparisonHighlightsDifferences() {
        let html = HTMLFixtures.comparisonHTML()
        let figures = HTMLFixtures.figures(html)
        // Burst: 404 and EADDRNOTAVAIL on both engines, ECONNRESET and ETIMEDOUT only simulated.
        #expect(
            figures.map { HTMLFixtures.occurrences("<polyline", in: $0) } == [6, 4, 2, 4, 4, 4, 4])
        #expect(HTMLFixtures.occurrences("engine-kernel differs", in: html) == 3)
        #expect(
            html.contains(
                "<tr class=\"differs\"><td><code>snapshots.end.hosts.client.states.TIME-WAIT</code>"))
        #expect(html.contains("<li class=\"c1 differs\">"))
        #expect(html.contains("differ</span>."))
    }
}

/// Compares `html` with `Snapshots/NAME.html`; `TWLAB_RECORD=1` re-records it.
func assertHTMLGolden(_ html: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation)
    throws
{
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Snapshots").appendingPathComponent("\(name).html")
    if ProcessInfo.processInfo.environment["TWLAB_RECORD"] == "1" {
        try Data(html.utf8).write(to: url)
        return
    }
    let golden = try String(contentsOf: url, encoding: .utf8)
    #expect(
        html == golden, "output differs from Snapshots/\(name).html (TWLAB_RECORD=1 re-records it)",
        sourceLocation: sourceLocation)
}
