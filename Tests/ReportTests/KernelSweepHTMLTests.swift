import Foundation
import LinuxTCP
import Report
import Results
import Scenario
import Simulation
import Testing

/// Built-in scenarios simulated on every kernel profile, as `twlab run NAME --kernel all` does.
enum SweepFixtures {
    /// A row per profile, oldest first, as `twlab run NAME --kernel all --html` draws them:
    /// sampled every `sampleEvery`, or when nil at the interval the page chooses.
    static func rows(_ name: String, sampleEvery: Nanos? = nil) -> [KernelSweepReport.Row] {
        if let sampleEvery { return KernelSweep.rows(name, overrides: [], sampleEvery: sampleEvery).rows }
        return KernelSweep.pageRows(KernelSweep.rows(name, overrides: []).rows, scenario: name, overrides: [])
            .rows
    }

    static func html(_ name: String) throws -> String {
        let (rows, chosen) = KernelSweep.pageRows(
            KernelSweep.rows(name, overrides: []).rows, scenario: name, overrides: [])
        return HTMLReport.renderKernelSweep(
            scenario: try ScenarioLoader.load(name), rows: rows, sampleIntervalChosen: chosen)
    }

    /// The text of each `<article class="panel"` … `</article>`.
    static func panels(_ html: String) -> [Substring] {
        html.components(separatedBy: "<article class=\"panel\"").dropFirst().map { piece -> Substring in
            piece[..<(piece.range(of: "</article>")?.lowerBound ?? piece.endIndex)]
        }
    }

    /// The `data-kernels` of a panel: the profiles it stands for.
    static func kernels(_ panel: Substring) -> [String] {
        guard let start = panel.range(of: "data-kernels=\"") else { return [] }
        let rest = panel[start.upperBound...]
        return rest[..<rest.firstIndex(of: "\"")!].split(separator: " ").map(String.init)
    }

    /// The y axis's tick labels of a chart, bottom to top.
    static func yTicks(_ figure: some StringProtocol) -> [String] {
        let axis = String(figure).components(separatedBy: "<g class=\"axis axis-y\">")[1]
            .components(separatedBy: "</g>")[0]
        return axis.components(separatedBy: "text-anchor=\"end\">").dropFirst().map {
            String($0.prefix { $0 != "<" })
        }
    }

    /// The x axis's tick labels of a chart, left to right.
    static func xTicks(_ figure: some StringProtocol) -> [String] {
        let axis = String(figure).components(separatedBy: "<g class=\"axis axis-x\">")[1]
            .components(separatedBy: "</g>")[0]
        return axis.components(separatedBy: "text-anchor=\"middle\">").dropFirst().map {
            String($0.prefix { $0 != "<" })
        }.filter { $0 != "time (s)" }
    }

    /// seed002's recycle scenario on the four profiles that have tcp_tw_recycle: per panel the
    /// outcomes of c1 and c2, c2's sockets and ports, s's sockets and listen queue (c1's
    /// connections live under a millisecond, between the 1 s samples). Polylines per chart.
    static let recyclePanelSeries = [1, 2, 1, 1, 2, 2]
}

@Suite("HTMLReport: --kernel all")
struct KernelSweepHTMLTests {
    /// seed002's recycle scenario: four profiles run (one panel each, titled with the version),
    /// eight cannot (tcp_tw_recycle was removed in 4.12) and say why under the table.
    @Test func panelsPerProfileWithSharedAxes() throws {
        let name = "seed002-nat-tw-recycle-on-2.6.32"
        let html = try SweepFixtures.html(name)
        let panels = SweepFixtures.panels(html)
        #expect(panels.map { SweepFixtures.kernels($0) } == [["2.6.32"], ["3.10"], ["4.4"], ["4.9"]])
        for (panel, kernel) in zip(panels, ["2.6.32", "3.10", "4.4", "4.9"]) {
            #expect(panel.contains("<h3>\(kernel)</h3>\n<p class=\"kernels\">1 profile</p>"))
            let figures = HTMLFixtures.figures(String(panel))
            #expect(
                figures.map { HTMLFixtures.occurrences("<polyline", in: $0) }
                    == SweepFixtures.recyclePanelSeries)
            #expect(
                figures.map { HTMLFixtures.occurrences("<svg class=\"chart\"", in: $0) } == [
                    1, 1, 1, 1, 1, 1,
                ])
            for (figure, count) in zip(figures, SweepFixtures.recyclePanelSeries) {
                #expect(figure.contains("data-series=\"\(count)\""))
                #expect(figure.contains(">time (s)</text>"))
            }
        }
        #expect(html.contains("<figcaption><strong>Sockets on s by state.</strong></figcaption>"))
        #expect(
            html.contains("<figcaption><strong>Ports in use on c2, per destination.</strong></figcaption>"))
        #expect(html.contains("<figcaption><strong>Outcomes of c2 over time.</strong></figcaption>"))
        #expect(html.contains("class=\"series series-TIME-WAIT c1\""))
        #expect(html.contains("class=\"series series-ETIMEDOUT c3\""))
        for unit in ["sockets", "ports", "requests per interval", "queue length"] {
            #expect(html.contains("text-anchor=\"middle\">\(unit)</text>"), "no axis labelled \(unit)")
        }
        #expect(!html.contains("Counters on"))  // the table has the counters

        // Every chart of one kind has the same axes in every panel: y from 0 to one top, x to 80 s.
        let perPanel = panels.map { HTMLFixtures.figures(String($0)) }
        for j in 0..<SweepFixtures.recyclePanelSeries.count {
            let ys = perPanel.map { SweepFixtures.yTicks($0[j]) }
            #expect(Set(ys).count == 1, "chart \(j + 1): y axes \(ys)")
            let xs = perPanel.map { SweepFixtures.xTicks($0[j]) }
            #expect(xs.allSatisfy { $0 == ["0", "20", "40", "60", "80"] }, "chart \(j + 1): x axes \(xs)")
        }

        // The table: one row per profile, the not-run rows and their reasons.
        #expect(
            html.contains(
                "<tr><td>3.10</td><td>10 404</td><td>6 ETIMEDOUT, 4 404</td><td class=\"num changed\">20</td>"
            ))
        // Eight columns after the kernel's: s TcpExtListenDrops joined the seven when 3.10 and
        // 4.x started counting the tw_recycle SYN drop (TR-3, CT-2; 2.6.32 counts none).
        #expect(html.contains("<th class=\"num\">s TcpExtListenDrops</th>"))
        #expect(HTMLFixtures.occurrences("<td colspan=\"8\">not run (below)</td>", in: html) == 8)
        for kernel in ["4.19", "5.4", "5.10", "5.15", "6.1", "6.6", "6.12", "6.18"] {
            #expect(
                html.contains(
                    "<li><strong>\(kernel)</strong>: catalogue:seed002-nat-tw-recycle-on-2.6.32:32:7: host &#39;s&#39;:"
                        + " net.ipv4.tcp_tw_recycle does not exist on kernel \(kernel): it was removed in 4.12</li>"
                ))
        }
        #expect(html.contains("<tr><td>s TIME-WAIT</td><td class=\"num\">1</td></tr>"))
        #expect(
            html.contains(
                "<p class=\"meta\">simulator, every kernel profile (12 profiles, 2.6.32 to 6.18; 4 ran), seed 1</p>"
            ))
        #expect(html.contains("Written for kernel profile 2.6.32, simulated on every profile, seed 1;"))
        #expect(
            html.contains(
                "sampled every 1s (neither the scenario nor <code>--sample</code> gives an interval"))
    }

    /// seed000's two clients: 22 server TIME-WAITs up to 4.4, 10 from 4.9. Identical profiles
    /// share a panel; every profile is in exactly one; the server's sockets chart has the
    /// same y axis (0 to 30) in every panel, so 22 and 10 compare by eye.
    @Test func identicalProfilesShareAPanel() throws {
        let html = try SweepFixtures.html("seed000-g-two-clients-http10-on-3.10")
        let panels = SweepFixtures.panels(html)
        let kernels = panels.map { SweepFixtures.kernels($0) }
        #expect(kernels.flatMap { $0 } == KernelProfile.all.map(\.name))
        #expect(
            kernels == [
                ["2.6.32", "3.10"], ["4.4"], ["4.9", "4.19"], ["5.4"], ["5.10"],
                ["5.15", "6.1", "6.6", "6.12"], ["6.18"],
            ])
        #expect(panels[0].contains("<h3>2.6.32 – 3.10</h3>"))
        #expect(panels[5].contains("<h3>5.15 – 6.12</h3>"))
        #expect(panels[5].contains(">4 profiles, identical results: 5.15, 6.1, 6.6, 6.12</p>"))
        // 6.18 alone: its TS offsets are per 4-tuple (TS-3), one per client port.
        #expect(html.contains("<th class=\"num\">c1 TS offsets</th>"))
        // Outcomes of c1 and c2, sockets and ports of client and client2, server's sockets and
        // listen queue.
        for panel in panels {
            let figures = HTMLFixtures.figures(String(panel))
            #expect(
                figures.map { HTMLFixtures.occurrences("<polyline", in: $0) } == [1, 1, 1, 1, 1, 1, 2, 2])
            let server = figures[6]
            #expect(server.contains("Sockets on server by state"))
            #expect(SweepFixtures.yTicks(server) == ["0", "10", "20", "30"])
        }
        #expect(
            html.contains(
                "<tr><td>4.9</td><td>20 404</td><td>20 404</td><td class=\"num\">1</td><td class=\"num\">1</td>"
                    + "<td class=\"num changed\">10</td>"))
        #expect(!html.contains("id=\"sweep\">\n<h2>Every kernel profile</h2>\n<h3>Not run"))
        #expect(!html.contains("<ul class=\"not-run\">"))
    }

    /// Nothing loaded, nothing run; the same bytes twice.
    @Test func selfContainedAndDeterministic() throws {
        let name = "seed004-l1-synq-b128-s128-m512-on-3.10"
        let html = try SweepFixtures.html(name)
        HTMLFixtures.expectSelfContained(html)
        #expect(html.contains("<body class=\"sweep\">"))
        #expect(html.contains("grid-template-columns: repeat(auto-fill"))
        #expect(Array(html.utf8) == Array(try SweepFixtures.html(name).utf8))
    }

    /// The table's columns come from one function, for the terminal and the page alike, and
    /// sampling the runs for the charts changes none of them.
    @Test func oneChoiceOfColumns() throws {
        let name = "seed004-l1-synq-b128-s128-m512-on-3.10"
        let sampled = SweepFixtures.rows(name)
        let unsampled = KernelProfile.all.map { profile -> KernelSweepReport.Row in
            let s = try! ScenarioLoader.load(name, overrides: ["kernel=\(profile.name)"])
            return .init(kernel: profile.name, outcome: .success(try! SimulatorEngine().run(s)), scenario: s)
        }
        let columns = KernelSweepReport.Columns(unsampled)
        #expect(columns.workloads == ["flood"])
        #expect(
            columns.varying == [
                "server SYN-RECV", "server TcpExtListenDrops", "server TcpExtTCPReqQFullDrop",
            ])
        #expect(KernelSweepReport.Columns(sampled) == columns)
        for (a, b) in zip(sampled, unsampled) {
            #expect(columns.cells(try a.outcome.get()) == columns.cells(try b.outcome.get()))
        }
        let terminal = KernelSweepReport.render(scenario: name, rows: unsampled)
        let html = HTMLReport.renderKernelSweep(scenario: try ScenarioLoader.load(name), rows: sampled)
        for key in columns.varying {
            #expect(terminal.contains(key))
            #expect(html.contains("<th class=\"num\">\(key)</th>"))
        }
        #expect(html.contains("<tr><td>2.6.32</td><td>2000 sent</td><td class=\"num\">256</td>"))
        #expect(html.contains("<tr><td>6.1</td><td>2000 sent</td><td class=\"num changed\">129</td>"))
    }

    /// A hundredth of the longest run, rounded up to 1, 2 or 5 times a power of ten.
    @Test func defaultSampleInterval() {
        func rows(_ seconds: [Double]) -> [KernelSweepReport.Row] {
            seconds.map { t in
                .init(
                    kernel: "6.18",
                    outcome: .success(
                        RunResult(
                            scenario: "s", engine: "simulator", kernel: "6.18",
                            snapshots: [Snapshot(at: "end", time: t, hosts: [])])))
            }
        }
        #expect(HTMLReport.defaultSampleInterval(rows([0.269])) == 5_000_000)
        #expect(HTMLReport.defaultSampleInterval(rows([0.1, 72.678])) == 1_000_000_000)
        #expect(HTMLReport.defaultSampleInterval(rows([0.2])) == 2_000_000)
        #expect(HTMLReport.defaultSampleInterval(rows([1e-5])) == 1000)
        #expect(
            HTMLReport.defaultSampleInterval([.init(kernel: "6.18", outcome: .failure(.init("no")))])
                == 10_000_000)
    }
}
