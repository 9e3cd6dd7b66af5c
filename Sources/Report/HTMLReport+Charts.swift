import Results

/// Line charts as inline SVG: one `<polyline>` per series, horizontal limit lines, axes with
/// ticks and unit labels, an HTML legend and a caption, all in one `<figure>`.
extension HTMLReport {
    /// One series on a chart.
    struct Line {
        /// The series name, made into the class `series-NAME`.
        var key: String
        /// What the legend says.
        var label: String
        /// Index into the report's palette (`c0`…`c9`).
        var color: Int
        var points: [(x: Double, y: Double)]
        /// "simulator" or "kernel" on a comparison chart; nil on a run's chart.
        var engine: String? = nil
        /// A comparison key of this series differs between the engines.
        var differs: Bool = false
    }

    /// A horizontal line at a limit (the ports in the range, an accept queue's capacity).
    struct Limit {
        var value: Double
        var label: String
        /// A shorter label for a small chart, when `label` is too long for one.
        var brief: String? = nil
    }

    /// What a chart shows, to pick charts by kind (a kernel sweep leaves the counters out).
    enum Kind {
        case outcomes, states, ports, listener, counters
    }

    /// Axes shared by the same chart in several panels (small multiples), so that they compare
    /// by eye: each chart's axes reach at least these values, whatever its own data.
    struct Scale {
        /// The latest time on any of the charts, in seconds.
        var xMax: Double
        /// The largest value on any of the charts: a limit line is drawn when this reaches a
        /// tenth of it, on every chart alike.
        var dataMax: Double
        /// The largest value or drawn limit on any of the charts.
        var yMax: Double

        /// The scale that fits every chart in `charts`, with the time axis up to `xMax`.
        init(fitting charts: [Chart], xMax: Double) {
            self.xMax = xMax
            dataMax = charts.flatMap(\.lines).flatMap(\.points).map(\.y).max() ?? 0
            let threshold = max(dataMax, 1) * 10
            let limits = charts.flatMap(\.limits).map(\.value).filter { $0 <= threshold }
            yMax = max(dataMax, limits.max() ?? 0)
        }
    }

    /// One chart: x is always time in seconds.
    struct Chart {
        var title: String
        var yLabel: String
        var lines: [Line]
        var limits: [Limit] = []
        /// More words for the caption, after the title.
        var note: String = ""
        var kind: Kind
        /// Drawn small, as one of several panels side by side: a smaller drawing with fewer
        /// ticks, the caption without its note, limits with their brief label.
        var small = false
        /// Axes shared with the same chart in other panels.
        var scale: Scale? = nil
    }

    static let paletteSize = 10

    /// The size of a chart and its margins, in SVG user units, and how many ticks to aim for.
    private struct Geometry {
        var width: Double
        var height: Double
        var left: Double
        var right: Double
        var top: Double
        var bottom: Double
        var xTicks: Int
        var yTicks: Int
    }

    private static let fullSize = Geometry(
        width: 900, height: 300, left: 64, right: 24, top: 20, bottom: 48, xTicks: 8, yTicks: 5)
    private static let smallSize = Geometry(
        width: 440, height: 260, left: 58, right: 14, top: 18, bottom: 46, xTicks: 5, yTicks: 4)

    /// The points of `values` against `time`, for as many samples as both have.
    static func points(_ time: [Double], _ values: [Int]) -> [(x: Double, y: Double)] {
        zip(time, values).map { (x: $0, y: Double($1)) }
    }

    /// The chart as a `<figure>` with the SVG, the legend and the caption.
    ///
    /// - Complexity: O(n) in the number of points.
    static func figure(_ chart: Chart, id: String) -> String {
        var chart = chart
        let g = chart.small ? smallSize : fullSize
        let (width, height, left, right, top, bottom) = (g.width, g.height, g.left, g.right, g.top, g.bottom)
        let dataMax = max(chart.lines.flatMap(\.points).map(\.y).max() ?? 0, chart.scale?.dataMax ?? 0)
        // A limit far above the data (28232 ports against a few sockets) would flatten every
        // line; it is drawn only when the data reaches a tenth of it.
        chart.limits = chart.limits.filter { $0.value <= max(dataMax, 1) * 10 }
        let allPoints = chart.lines.flatMap(\.points)
        let xMin = min(0, allPoints.map(\.x).min() ?? 0)
        let xMaxData = max(allPoints.map(\.x).max() ?? 1, chart.scale?.xMax ?? 0, xMin + 1e-9)
        let xAxis = Axis(from: xMin, upTo: xMaxData, targetTicks: g.xTicks, integral: false)
        let yMaxData = max(
            allPoints.map(\.y).max() ?? 0, chart.limits.map(\.value).max() ?? 0, chart.scale?.yMax ?? 0)
        let yAxis = Axis(from: 0, upTo: max(yMaxData * 1.05, 1), targetTicks: g.yTicks, integral: true)

        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - xAxis.low) / (xAxis.high - xAxis.low) * plotWidth }
        func py(_ y: Double) -> Double {
            top + plotHeight - (y - yAxis.low) / (yAxis.high - yAxis.low) * plotHeight
        }
        let n = { (v: Double) in number(v) }

        var svg =
            "<svg class=\"chart\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\""
            + " height=\"\(n(height))\" role=\"img\" aria-labelledby=\"\(id)-title\">\n"
        svg += "<title id=\"\(id)-title\">\(escape(chart.title))</title>\n"

        // Grid and axes.
        let bottomY = top + plotHeight
        svg += "<g class=\"grid\">"
        for t in yAxis.ticks where t.value != yAxis.low {
            svg += svgLine(left, py(t.value), width - right, py(t.value))
        }
        for t in xAxis.ticks where t.value != xAxis.low {
            svg += svgLine(px(t.value), top, px(t.value), bottomY)
        }
        svg += "</g>\n<g class=\"axis axis-x\">"
        svg += svgLine(left, bottomY, width - right, bottomY, class: "axis-line")
        for t in xAxis.ticks {
            svg += svgLine(px(t.value), bottomY, px(t.value), bottomY + 5)
            svg += svgText(t.label, px(t.value), bottomY + 18, anchor: "middle")
        }
        svg += svgText("time (s)", left + plotWidth / 2, height - 8, anchor: "middle", class: "axis-label")
        svg += "</g>\n<g class=\"axis axis-y\">"
        svg += svgLine(left, top, left, bottomY, class: "axis-line")
        for t in yAxis.ticks {
            svg += svgLine(left - 5, py(t.value), left, py(t.value))
            svg += svgText(t.label, left - 8, py(t.value) + 4, anchor: "end")
        }
        svg +=
            "<text class=\"axis-label\" transform=\"rotate(-90)\" x=\"\(n(-(top + plotHeight / 2)))\""
            + " y=\"16\" text-anchor=\"middle\">\(escape(chart.yLabel))</text></g>\n"

        // Limits under the series, labelled at the right end above the line.
        if !chart.limits.isEmpty {
            svg += "<g class=\"limits\">"
            for limit in chart.limits {
                svg += svgLine(left, py(limit.value), width - right, py(limit.value), class: "limit")
                svg += svgText(
                    escape(chart.small ? limit.brief ?? limit.label : limit.label), width - right - 4,
                    py(limit.value) - 5, anchor: "end",
                    class: "limit-label")
            }
            svg += "</g>\n"
        }

        svg += "<g class=\"lines\">\n"
        for line in chart.lines {
            var classes = "series series-\(classToken(line.key)) c\(line.color % paletteSize)"
            if let engine = line.engine { classes += " engine-\(engine)" }
            if line.differs { classes += " differs" }
            // One sample alone draws as a dot: a zero-length segment with round caps.
            let pts = line.points.count == 1 ? line.points + line.points : line.points
            let coordinates = pts.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
            let who = line.engine.map { " (\($0))" } ?? ""
            svg +=
                "<polyline class=\"\(classes)\" points=\"\(coordinates)\"><title>\(escape(line.label + who))"
                + "</title></polyline>\n"
        }
        svg += "</g>\n</svg>\n"

        let note = chart.note.isEmpty || chart.small ? "" : " " + escape(chart.note)
        var html = "<figure class=\"chart\" id=\"\(id)\" data-series=\"\(chart.lines.count)\">\n"
        html += "<figcaption><strong>\(escape(chart.title)).</strong>\(note)</figcaption>\n"
        html += svg + legend(chart.lines) + "</figure>\n"
        return html
    }

    /// `<line>` from (x1, y1) to (x2, y2).
    private static func svgLine(
        _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, class cls: String? = nil
    ) -> String {
        let c = cls.map { " class=\"\($0)\"" } ?? ""
        return
            "<line\(c) x1=\"\(number(x1))\" y1=\"\(number(y1))\" x2=\"\(number(x2))\" y2=\"\(number(y2))\"/>"
    }

    /// `<text>` at (x, y); `html` is already escaped.
    private static func svgText(
        _ html: String, _ x: Double, _ y: Double, anchor: String, class cls: String? = nil
    ) -> String {
        let c = cls.map { " class=\"\($0)\"" } ?? ""
        return "<text\(c) x=\"\(number(x))\" y=\"\(number(y))\" text-anchor=\"\(anchor)\">\(html)</text>"
    }

    /// One entry per series (per key on a comparison chart, with both engines' strokes).
    private static func legend(_ lines: [Line]) -> String {
        var html = "<ul class=\"legend\">"
        var seen: [String] = []
        for line in lines where !seen.contains(line.key) {
            seen.append(line.key)
            let same = lines.filter { $0.key == line.key }
            let differs = same.contains(where: \.differs)
            html += "<li class=\"c\(line.color % paletteSize)\(differs ? " differs" : "")\">"
            for l in same {
                html += "<span class=\"swatch\(l.engine.map { " engine-\($0)" } ?? "")\"></span>"
            }
            html += escape(line.label)
            if differs { html += " <strong>✘ differs</strong>" }
            html += "</li>"
        }
        return html + "</ul>\n"
    }

    /// A linear axis from `from` up to a round number at or above `upTo`, with ticks at
    /// 1, 2 or 5 times a power of ten.
    struct Axis {
        var low: Double
        var high: Double
        var ticks: [(value: Double, label: String)]

        init(from low: Double, upTo high: Double, targetTicks: Int, integral: Bool) {
            let raw = (high - low) / Double(targetTicks)
            var (step, decimals) = Axis.niceStep(raw)
            if integral && step < 1 {
                step = 1
                decimals = 0
            }
            let first = (low / step).rounded(.down)
            let last = (high / step).rounded(.up)
            self.low = first * step
            self.high = max(last, first + 1) * step
            var ticks: [(Double, String)] = []
            var i = first
            while i <= max(last, first + 1) {
                let v = i * step
                ticks.append((v, HTMLReport.number(v, decimals: decimals)))
                i += 1
            }
            self.ticks = ticks
        }

        /// The 1-2-5 step at or above `raw` and the decimals its multiples need.
        static func niceStep(_ raw: Double) -> (Double, Int) {
            guard raw.isFinite, raw > 0 else { return (1, 0) }
            var exponent = 0
            var power = 1.0
            while power * 10 <= raw {
                power *= 10
                exponent += 1
            }
            while power > raw {
                power /= 10
                exponent -= 1
            }
            for m in [1.0, 2.0, 5.0] where m * power >= raw {
                return (m * power, max(0, -exponent))
            }
            return (10 * power, max(0, -(exponent + 1)))
        }
    }
}
