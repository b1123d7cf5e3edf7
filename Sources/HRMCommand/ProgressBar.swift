import Foundation

/// A progress bar on standard error: `label [#####.....] done/total  rate/s  ETA`.
///
/// On a terminal it redraws one line; otherwise (logs, CI) it prints a line every 10 %.
/// Thread-safe: workers may report from any thread.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let total: Int
    private let unit: String
    private let start: Date
    /// Where the count stood when the bar started (a resumed run): the rate counts from here.
    private let initial: Int
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var lastDecile = -1
    private let isTerminal = isatty(fileno(stderr)) != 0
    /// A disabled bar draws nothing (ranks other than 0 of a data-parallel job).
    private let enabled: Bool

    /// `since`: when the work began, if before the bar (a phase whose first report is its
    /// first finished batch); the rate and ETA count from then.
    init(_ label: String, total: Int, unit: String = "items", startingAt initial: Int = 0, enabled: Bool = true, since: Date = Date()) {
        self.start = since
        self.enabled = enabled
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        self.initial = initial
    }

    func update(_ done: Int, extra: String = "") {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let decile = done * 10 / total
        if isTerminal {
            guard now.timeIntervalSince(lastDraw) > 0.1 || done >= total else { return }
        } else {
            guard decile > lastDecile else { return }
        }
        lastDraw = now
        lastDecile = decile
        let elapsed = now.timeIntervalSince(start)
        // Under a fifth of a second a rate says nothing (and was printed as millions per second).
        let rate = elapsed < 0.2 ? 0 : Double(max(done - initial, 0)) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 24
        let filled = min(width, done * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let speed = rate > 0 ? "\(Self.format(rate)) \(unit)/s  ETA \(Self.clock(eta))" : "– \(unit)/s"
        let line = "\(label) [\(bar)] \(done)/\(total)  \(speed)\(extra.isEmpty ? "" : "  " + extra)"
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + line + (isTerminal ? "" : "\n")).utf8))
    }

    /// Ends the bar's line and returns the seconds it ran.
    @discardableResult
    func finish() -> Double {
        update(total)
        if isTerminal && enabled { FileHandle.standardError.write(Data("\n".utf8)) }
        return Date().timeIntervalSince(start)
    }

    static func format(_ rate: Double) -> String {
        rate >= 100 ? String(format: "%.0f", rate) : String(format: "%.2f", rate)
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
