import Foundation

/// A line chart as inline SVG: several series against one x axis, a linear or log y axis,
/// optional dashed vertical marks (e.g. where an ACT step begins).
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        public var dashed = false
        /// Draw a dot at every point (for short series).
        public var dots = false

        public init(name: String, color: String, points: [(x: Double, y: Double)], dashed: Bool = false, dots: Bool = false) {
            (self.name, self.color, self.points, self.dashed, self.dots) = (name, color, points, dashed, dots)
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logY = false
    /// A log x axis (values ≤ 0 are left out).
    public var logX = false
    public var series: [Series]
    public var marks: [Double] = []
    /// A fixed linear y range (e.g. 0…1 for accuracies) instead of one fitted to the data.
    public var yRange: ClosedRange<Double>? = nil

    public init(title: String, xLabel: String, yLabel: String, logY: Bool = false, logX: Bool = false, series: [Series],
                marks: [Double] = []) {
        (self.title, self.xLabel, self.yLabel, self.logY, self.logX, self.series, self.marks) = (title, xLabel, yLabel, logY, logX, series, marks)
    }

    public func svg(width: Double = 760, height: Double = 340) -> String {
        let (left, right, top, bottom) = (64.0, 170.0, 28.0, 44.0)
        func shown(_ p: (x: Double, y: Double)) -> Bool { (!logY || p.y > 0) && (!logX || p.x > 0) }
        func tx(_ v: Double) -> Double { logX ? log10(max(v, 1e-12)) : v }
        let xs = series.flatMap { $0.points.filter(shown).map { tx($0.x) } }
        let ys = series.flatMap { $0.points.filter(shown).map(\.y) }
        let x0 = xs.min() ?? 0, x1 = max(xs.max() ?? 1, x0 + 1e-9)
        func ty(_ v: Double) -> Double { logY ? log10(max(v, 1e-12)) : v }
        var y0 = ys.map(ty).min() ?? 0, y1 = ys.map(ty).max() ?? 1
        if logY { y0 = floor(y0); y1 = max(ceil(y1), y0 + 1) } else { y0 = min(y0, 0); y1 = max(y1 * 1.05, y0 + 1e-9) }
        if let r = yRange, !logY { (y0, y1) = (r.lowerBound, r.upperBound) }
        let pw = width - left - right, ph = height - top - bottom
        func px(_ x: Double) -> Double { left + pw * (tx(x) - x0) / (x1 - x0) }
        func py(_ y: Double) -> Double { top + ph * (1 - (ty(y) - y0) / (y1 - y0)) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(f(left))\" y=\"16\" font-size=\"13\">\(HTML.escape(title))</text>\n"
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#999\"/>\n"
        for m in marks where tx(m) >= x0 && tx(m) <= x1 {
            s += "<line x1=\"\(f(px(m)))\" y1=\"\(f(top))\" x2=\"\(f(px(m)))\" y2=\"\(f(top + ph))\" stroke=\"#ddd\" stroke-dasharray=\"3 3\"/>\n"
        }
        // y ticks: decades on a log axis, five steps on a linear one.
        let ticks: [Double] = logY ? Array(stride(from: y0, through: y1, by: 1)).map { pow(10, $0) }
                                   : (0...4).map { y0 + (y1 - y0) * Double($0) / 4 }
        for t in ticks {
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(String(format: "%.3g", t))</text>\n"
            s += "<line x1=\"\(f(left - 3))\" y1=\"\(f(py(t)))\" x2=\"\(f(left))\" y2=\"\(f(py(t)))\" stroke=\"#999\"/>\n"
        }
        // x ticks: powers of two (every second or fourth one on a wide span) on a log axis, five
        // steps on a linear one; the label sits below them.
        var xTicks: [Double]
        if logX {
            let (a, b) = (pow(10, x0), pow(10, x1))
            let powers = Array(Int(floor(log2(a)))...Int(ceil(log2(b)))).map { pow(2, Double($0)) }.filter { $0 >= a * 0.999 && $0 <= b * 1.001 }
            let stride = powers.count > 16 ? 4 : powers.count > 8 ? 2 : 1
            xTicks = powers.enumerated().filter { $0.offset % stride == 0 }.map(\.element)
            if xTicks.count < 2 { xTicks = [a, b] }
        } else {
            xTicks = (0...4).map { x0 + (x1 - x0) * Double($0) / 4 }
        }
        for t in xTicks {
            s += "<text x=\"\(f(px(t)))\" y=\"\(f(top + ph + 14))\" text-anchor=\"middle\">\(String(format: "%.4g", t))</text>\n"
            s += "<line x1=\"\(f(px(t)))\" y1=\"\(f(top + ph))\" x2=\"\(f(px(t)))\" y2=\"\(f(top + ph + 3))\" stroke=\"#999\"/>\n"
        }
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>\n"
        s += "<text x=\"14\" y=\"\(f(top + ph / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f(top + ph / 2)))\">\(HTML.escape(yLabel))</text>\n"
        for (i, line) in series.enumerated() {
            let pts = line.points.filter(shown)
            let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
            if pts.count > 1 {
                s += "<polyline class=\"series\" data-name=\"\(HTML.escape(line.name))\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.6\"\(dash) points=\"\(pts.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " "))\"/>\n"
            }
            if line.dots || pts.count == 1 {
                for p in pts { s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.5\" fill=\"\(line.color)\"/>\n" }
            }
            let ly = top + 14 + Double(i) * 18
            s += "<line x1=\"\(f(left + pw + 12))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + pw + 34))\" y2=\"\(f(ly - 4))\" stroke=\"\(line.color)\" stroke-width=\"2\"\(dash)/>\n"
            s += "<text x=\"\(f(left + pw + 40))\" y=\"\(f(ly))\">\(HTML.escape(line.name))</text>\n"
        }
        return s + "</svg>\n"
    }
}

/// A self-contained HTML page of an analysis: a heading, sentences, charts, a table, and the
/// report's JSON (no network access, no script).
public enum AnalysisPage {
    /// A comment every page written here carries, by which `--force` knows its own file.
    public static let signature = "<!-- analysis page written by hrm analyze -->"

    public static func isPage(_ url: URL) -> Bool {
        guard let data = FileManager.default.contents(atPath: url.path) else { return false }
        return String(decoding: data.prefix(4096), as: UTF8.self).contains(signature)
    }

    public static func html(title: String, paragraphs: [String], charts: [LineChart], table: [[String]] = [], json: Data) -> String {
        var body = "<h1>\(HTML.escape(title))</h1>\n"
        for p in paragraphs { body += "<p>\(HTML.escape(p))</p>\n" }
        for c in charts { body += "<figure>\(c.svg())</figure>\n" }
        if let head = table.first {
            body += "<table><thead><tr>" + head.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
            for row in table.dropFirst() { body += "<tr>" + row.map { "<td>\(HTML.escape($0))</td>" }.joined() + "</tr>\n" }
            body += "</tbody></table>\n"
        }
        body += "<details><summary>the report as JSON</summary><pre>\(HTML.escape(String(decoding: json, as: UTF8.self)))</pre></details>\n"
        return """
            <!DOCTYPE html>
            \(signature)
            <html lang="en"><head><meta charset="utf-8"><title>\(HTML.escape(title))</title>
            <style>body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:62em}
            h1{font-size:1.35em}figure{margin:1em 0}table{border-collapse:collapse}
            td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#eee}
            pre{font-size:.8em;white-space:pre-wrap}</style></head>
            <body>
            \(body)</body></html>

            """
    }
}
