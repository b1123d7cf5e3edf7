import ArgumentParser
import Foundation
import Application
import Models
import Reasoning
import Training
import SafeFiles

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a run's training curves (loss, accuracy, exact accuracy, steps) as SVG.",
        discussion: """
            Reads RUN/metrics.jsonl and writes RUN/curves.svg (and RUN/curves.png when \
            rsvg-convert or ImageMagick's convert is installed).

            Example:
              hrm plot runs/s1
            """
    )

    @Argument(help: "A run folder.")
    var folder: String
    @OptionGroup var output: ForceOption

    /// An SVG this command wrote (what --force may replace), and a PNG drawn from one.
    static func isOurs(_ url: URL) -> Bool {
        guard let data = FileManager.default.contents(atPath: url.path) else { return false }
        if url.pathExtension == "png" { return data.starts(with: [0x89, 0x50, 0x4E, 0x47]) }
        return String(decoding: data.prefix(4096), as: UTF8.self).contains(CurvePlot.signature)
    }

    func run() throws { try Self.draw(folder: folder, force: output.force) }

    /// Draws `folder`'s curves into `curves.svg` (and `curves.png` when a converter exists).
    static func draw(folder: String, force: Bool) throws {
        let url = URL(fileURLWithPath: folder).appendingPathComponent("metrics.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw CommandError("\(url.path): not found; is \(folder) a run folder written by hrm train?")
        }
        let rows = text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let out = URL(fileURLWithPath: folder).appendingPathComponent("curves.svg")
        let png = URL(fileURLWithPath: folder).appendingPathComponent("curves.png")
        for url in [out, png] { try OutputTarget.checkFile(url, what: "curves drawn by hrm plot", force: force, isOurs: Self.isOurs) }
        let svg = CurvePlot.svg(rows: rows, title: URL(fileURLWithPath: folder).lastPathComponent)
        try AtomicFile.write(Data(svg.utf8), to: out)
        print("wrote \(out.path)")
        let pngTemp = AtomicFile.temporaryURL(for: png).lastPathComponent
        defer { try? FileManager.default.removeItem(at: AtomicFile.temporaryURL(for: png)) }
        for (tool, args) in [("rsvg-convert", ["-o", pngTemp, "curves.svg"]), ("convert", ["curves.svg", "png:" + pngTemp])] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [tool] + args
            p.currentDirectoryURL = URL(fileURLWithPath: folder)
            p.standardError = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            if (try? p.run()) != nil {
                p.waitUntilExit()
                if p.terminationStatus == 0, rename(AtomicFile.temporaryURL(for: png).path, png.path) == 0 {
                    print("wrote \(png.path)")
                    break
                }
            }
        }
    }
}

/// Four small line charts in one SVG: loss, accuracy, exact accuracy and ACT steps, training
/// (blue) and evaluation (orange) against the optimizer step.
enum CurvePlot {
    /// A comment every SVG drawn here carries, by which `hrm plot --force` knows its own file.
    static let signature = "<!-- drawn by hrm plot -->"

    static func svg(rows: [[String: Any]], title: String) -> String {
        let panels: [(String, String, String)] = [
            ("LM loss (per example)", "train/lm_loss", ""), ("cell accuracy", "train/accuracy", "eval/accuracy"),
            ("exact accuracy", "train/exact_accuracy", "eval/exact_accuracy"), ("ACT steps", "train/steps", "eval/steps"),
        ]
        let (w, h, pad) = (360.0, 220.0, 40.0)
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(2 * w))" height="\(Int(2 * h + 30))" font-family="sans-serif" font-size="11">
            \(signature)
            <rect width="100%" height="100%" fill="white"/>
            <text x="10" y="18" font-size="14">\(title): training (blue) and evaluation (orange)</text>

            """
        /// A metric line's number (JSON gives integers or doubles).
        func number(_ row: [String: Any], _ key: String) -> Double? {
            (row[key] as? Double) ?? (row[key] as? Int).map(Double.init)
        }
        let steps = rows.compactMap { number($0, "step") }
        let maxStep = max(steps.max() ?? 1, 1)
        for (i, panel) in panels.enumerated() {
            let x0 = Double(i % 2) * w, y0 = 30 + Double(i / 2) * h
            func series(_ key: String) -> [(Double, Double)] {
                rows.compactMap { r in
                    guard let v = number(r, key), let s = number(r, "step") else { return nil }
                    // Accuracies and steps are over the sequences that halted in the logged
                    // batches: none halted (count 0, early in training) is no point, not a 0.
                    if key.hasPrefix("train/"), !key.hasSuffix("loss"), number(r, "train/count") == 0 { return nil }
                    return (s, v)
                }
            }
            let train = series(panel.1), eval = panel.2.isEmpty ? [] : series(panel.2)
            let values = (train + eval).map(\.1)
            // Accuracies on a fixed 0…1 scale; other panels from 0 to their largest value.
            let isAccuracy = panel.0.contains("accuracy")
            let lo = min(values.min() ?? 0, 0)
            let hi = isAccuracy ? 1 : max(values.max() ?? 1, lo + 1e-9)
            func point(_ p: (Double, Double)) -> String {
                String(format: "%.1f,%.1f", x0 + pad + (w - 2 * pad) * p.0 / maxStep, y0 + h - pad - (h - 2 * pad) * (p.1 - lo) / (hi - lo))
            }
            out += "<rect x=\"\(x0 + pad)\" y=\"\(y0 + pad)\" width=\"\(w - 2 * pad)\" height=\"\(h - 2 * pad)\" fill=\"none\" stroke=\"#999\"/>\n"
            out += "<text x=\"\(x0 + pad)\" y=\"\(y0 + pad - 6)\">\(panel.0)</text>\n"
            out += String(format: "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.3g</text>\n", x0 + pad - 4, y0 + pad + 4, hi)
            out += String(format: "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.3g</text>\n", x0 + pad - 4, y0 + h - pad, lo)
            out += String(format: "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">step %.0f</text>\n", x0 + w - pad, y0 + h - pad + 14, maxStep)
            if train.count > 1 {
                out += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"\(train.map(point).joined(separator: " "))\"/>\n"
            }
            for p in eval {
                let xy = point(p).split(separator: ",")
                out += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"3\" fill=\"#ff7f0e\"/>\n"
            }
            if eval.count > 1 {
                out += "<polyline fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"1.5\" points=\"\(eval.map(point).joined(separator: " "))\"/>\n"
            }
        }
        return out + "</svg>\n"
    }
}
