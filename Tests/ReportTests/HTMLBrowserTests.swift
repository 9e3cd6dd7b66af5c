import Foundation
import Report
import Results
import Scenario
import TestSupport
import Testing

/// Opens HTML reports in a real headless Chromium: the page loads without console errors, each
/// chart holds the SVG polylines it should, and the screenshot is not blank.
///
/// Installs nothing: skipped with a reason when neither `chromium` nor `chromium-browser` is on
/// PATH (Debian: `apt-get install -y chromium`; `.ci/run` installs it).
@Suite("HTMLReport in a browser", .serialized)
struct HTMLBrowserTests {
    /// CI sets `TWLAB_REQUIRE_BROWSER=1` after installing chromium, so the browser tests cannot
    /// skip there unnoticed.
    @Test func browserPresentWhenRequired() {
        if ProcessInfo.processInfo.environment["TWLAB_REQUIRE_BROWSER"] == "1" {
            #expect(
                Chromium.path != nil,
                "TWLAB_REQUIRE_BROWSER=1 but neither chromium nor chromium-browser is on PATH")
        } else if Chromium.path == nil {
            print("skipping the browser tests: chromium is not on PATH (apt-get install -y chromium)")
        }
    }

    @Test(.enabled(if: Chromium.path != nil, "chromium is not on PATH (apt-get install -y chromium)"))
    func reportLoadsWithChartsAndPixels() throws {
        let chromium = try #require(Chromium.path)
        let dir = try Chromium.workDirectory("report")
        let page = dir.appendingPathComponent("report.html")
        try Data(HTMLFixtures.html().utf8).write(to: page)

        let dom = try Chromium.dumpDOM(chromium, page, in: dir)
        #expect(dom.contains("<h1>html-small</h1>"))
        Chromium.expectCharts(dom, HTMLFixtures.seriesPerChart)

        try Chromium.expectPixelsInBothThemes(chromium, page, named: "report", in: dir)
    }

    @Test(.enabled(if: Chromium.path != nil, "chromium is not on PATH (apt-get install -y chromium)"))
    func comparisonLoadsWithBothEngines() throws {
        let chromium = try #require(Chromium.path)
        let dir = try Chromium.workDirectory("compare")
        let page = dir.appendingPathComponent("compare.html")
        try Data(HTMLFixtures.comparisonHTML().utf8).write(to: page)
        let dom = try Chromium.dumpDOM(chromium, page, in: dir)
        Chromium.expectCharts(dom, [6, 4, 2, 4, 4, 4, 4])
        let png = try Chromium.screenshot(
            chromium, page, to: dir.appendingPathComponent("compare.png"), in: dir)
        #expect(png.idatBytes > 4 * (try Chromium.blankPage(chromium, in: dir)).idatBytes)
    }

    /// `--kernel all --html`: one panel per profile that ran, side by side, each with its charts.
    @Test(.enabled(if: Chromium.path != nil, "chromium is not on PATH (apt-get install -y chromium)"))
    func kernelSweepLoadsWithPanels() throws {
        let chromium = try #require(Chromium.path)
        let dir = try Chromium.workDirectory("sweep")
        let page = dir.appendingPathComponent("sweep.html")
        try Data(SweepFixtures.html("seed002-nat-tw-recycle-on-2.6.32").utf8).write(to: page)

        let dom = try Chromium.dumpDOM(chromium, page, in: dir)
        #expect(dom.contains("<h1>seed002-nat-tw-recycle-on-2.6.32</h1>"))
        #expect(
            SweepFixtures.panels(dom).map { SweepFixtures.kernels($0) } == [
                ["2.6.32"], ["3.10"], ["4.4"], ["4.9"],
            ])
        Chromium.expectCharts(
            dom, Array(repeating: SweepFixtures.recyclePanelSeries, count: 4).flatMap { $0 })
        #expect(dom.contains("<ul class=\"not-run\">"))

        try Chromium.expectPixelsInBothThemes(chromium, page, named: "sweep", in: dir)
    }

    /// A seed scenario end to end: `twlab run NAME --sample 100ms --html FILE`.
    @Test(
        .enabled(if: Chromium.path != nil && Twlab.binary != nil, "needs chromium on PATH and a built twlab"))
    func seedScenarioFromTheCommandLine() throws {
        let chromium = try #require(Chromium.path)
        let dir = try Chromium.workDirectory("seed")
        let page = dir.appendingPathComponent("seed.html")
        let arguments = ["run", "seed000-b-http11-reuse1-burst", "--html", page.path, "--sample", "100ms"]
        let run = try Twlab.run(arguments)
        #expect(run.status == 0, "twlab \(arguments.joined(separator: " ")): \(run.stderr)")
        let html = try String(contentsOf: page, encoding: .utf8)
        let dom = try Chromium.dumpDOM(chromium, page, in: dir)
        #expect(dom.contains("seed000-b-http11-reuse1-burst"))
        let figures = HTMLFixtures.figures(dom)
        #expect(!figures.isEmpty, "no charts with --sample")
        for figure in figures {
            #expect(figure.contains("data-series=\"\(HTMLFixtures.occurrences("<polyline", in: figure))\""))
        }
        #expect(html.contains("<table class=\"histogram\">"))
        let png = try Chromium.screenshot(chromium, page, to: dir.appendingPathComponent("seed.png"), in: dir)
        #expect(png.idatBytes > 4 * (try Chromium.blankPage(chromium, in: dir)).idatBytes)
    }
}

/// Headless Chromium from the command line, with a deadline.
enum Chromium {
    /// Screenshots `page` in the light and the dark theme: 1200x2000, far from blank (a white
    /// page compresses to almost nothing; text and charts do not), and the two themes differ.
    static func expectPixelsInBothThemes(_ chromium: String, _ page: URL, named name: String, in dir: URL)
        throws
    {
        let shot = dir.appendingPathComponent("\(name).png")
        let png = try screenshot(chromium, page, to: shot, in: dir)
        let blank = try blankPage(chromium, in: dir)
        #expect(png.width == 1200 && png.height == 2000, "screenshot is \(png.width)x\(png.height)")
        #expect(
            png.idatBytes > 4 * blank.idatBytes,
            "\(name) \(png.idatBytes) B of IDAT, blank \(blank.idatBytes) B")
        let darkShot = dir.appendingPathComponent("\(name)-dark.png")
        let dark = try screenshot(chromium, page, to: darkShot, in: dir, dark: true)
        #expect(dark.idatBytes > 4 * blank.idatBytes)
        #expect(
            try Data(contentsOf: shot) != Data(contentsOf: darkShot), "dark theme looks like the light one")
        print("HTML \(name) screenshots: \(shot.path), \(darkShot.path)")
    }

    /// `chromium` or `chromium-browser` from PATH.
    static let path: String? = {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        for name in ["chromium", "chromium-browser"] {
            for dir in dirs {
                let candidate = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }()

    /// `$TMPDIR/twlab-html-browser/NAME`, emptied: pages and screenshots stay there to be looked at.
    static func workDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("twlab-html-browser")
            .appendingPathComponent(name)
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs chromium headless on `page` with `extra` arguments; returns stdout. Fails on a
    /// non-zero exit, a timeout, or a console message (no page of ours logs one: it has no script).
    static func run(_ chromium: String, _ page: URL, _ extra: [String], in dir: URL, timeout: Double = 120)
        throws
        -> Data
    {
        let id = UUID().uuidString
        let out = dir.appendingPathComponent("\(id).out")
        let err = dir.appendingPathComponent("\(id).err")
        let profile = dir.appendingPathComponent("profile-\(id)")
        defer {
            for url in [out, err, profile] { try? FileManager.default.removeItem(at: url) }
        }
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments =
            [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--force-color-profile=srgb",
                "--enable-logging=stderr", "--v=0",
                "--user-data-dir=\(profile.path)",
            ] + extra + [page.absoluteString]
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw Failure(description: "chromium did not finish within \(Int(timeout)) s")
        }
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw Failure(description: "chromium exited \(process.terminationStatus): \(stderr.suffix(2000))")
        }
        let console = stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }
        #expect(console.isEmpty, "console messages: \(console.joined(separator: "\n"))")
        return try Data(contentsOf: out)
    }

    /// The DOM after load, serialised.
    static func dumpDOM(_ chromium: String, _ page: URL, in dir: URL) throws -> String {
        let dom = String(decoding: try run(chromium, page, ["--dump-dom"], in: dir), as: UTF8.self)
        let end = dom.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            dom.hasPrefix("<!DOCTYPE html>") && dom.contains("</footer>") && end.hasSuffix("</body></html>"),
            "page did not load: \(dom.suffix(200))")
        return dom
    }

    /// One `<figure class="chart">` per expected count, each with that many `<polyline>`s in its
    /// SVG and the same number in `data-series`.
    static func expectCharts(
        _ dom: String, _ seriesPerChart: [Int], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let figures = HTMLFixtures.figures(dom)
        #expect(
            figures.map { HTMLFixtures.occurrences("<polyline", in: $0) } == seriesPerChart,
            sourceLocation: sourceLocation)
        #expect(
            figures.map { HTMLFixtures.occurrences("<svg class=\"chart\"", in: $0) }
                == seriesPerChart.map { _ in 1 },
            sourceLocation: sourceLocation)
        for (figure, count) in zip(figures, seriesPerChart) {
            #expect(figure.contains("data-series=\"\(count)\""), sourceLocation: sourceLocation)
        }
    }

    /// A 1200×2000 screenshot of `page`, parsed.
    static func screenshot(_ chromium: String, _ page: URL, to png: URL, in dir: URL, dark: Bool = false)
        throws -> PNG
    {
        var extra = ["--screenshot=\(png.path)", "--window-size=1200,2000"]
        if dark { extra.append("--force-dark-mode") }
        _ = try run(chromium, page, extra, in: dir)
        guard let parsed = PNG(try Data(contentsOf: png)) else {
            throw Failure(description: "\(png.path) is not a PNG")
        }
        return parsed
    }

    /// The screenshot of an empty page, to measure a blank one by.
    static func blankPage(_ chromium: String, in dir: URL) throws -> PNG {
        let page = dir.appendingPathComponent("blank.html")
        try Data("<!DOCTYPE html>\n<html><body></body></html>\n".utf8).write(to: page)
        return try screenshot(chromium, page, to: dir.appendingPathComponent("blank.png"), in: dir)
    }
}

/// What a PNG's chunks say without decompressing: its size and how many bytes of compressed
/// pixels (IDAT) it holds.
struct PNG {
    var width: Int
    var height: Int
    var idatBytes: Int

    init?(_ data: Data) {
        let b = [UInt8](data)
        guard b.count > 8, b[0..<8].elementsEqual([137, 80, 78, 71, 13, 10, 26, 10]) else { return nil }
        func u32(_ i: Int) -> Int {
            Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
        }
        var i = 8
        var width = 0
        var height = 0
        var idat = 0
        while i + 8 <= b.count {
            let length = u32(i)
            let type = String(decoding: b[(i + 4)..<(i + 8)], as: UTF8.self)
            guard i + 12 + length <= b.count else { return nil }
            if type == "IHDR" {
                width = u32(i + 8)
                height = u32(i + 12)
            } else if type == "IDAT" {
                idat += length
            }
            i += 12 + length
        }
        guard width > 0, height > 0 else { return nil }
        self.width = width
        self.height = height
        self.idatBytes = idat
    }
}
