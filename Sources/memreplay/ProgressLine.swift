import Foundation
import MemModel
import MemStore

/// A progress line on standard error, redrawn in place while a replay runs:
/// the share of the trace file read, events, events per second and an
/// estimate of the time left.
///
/// Drawn only when standard error is a terminal (never into a log or a
/// pipe), at most five times a second, and erased at the end, so that the
/// output after it is what it would be without it. The replay loop reports
/// every 2^16 events; a comparison's variants report from their own threads,
/// so the line sums them (the file counts once per variant).
final class ProgressLine: @unchecked Sendable {
    private let title: String
    /// Bytes of the trace file (compressed bytes for .gz and .zst, as read),
    /// 0 when unknown (standard input, a pipe).
    private let fileSize: UInt64
    private var bytes: [UInt64]
    private var events: [Int]
    private let lock = NSLock()
    private let started = monotonicSeconds()
    /// The first draw waits one interval too: short replays never show a line.
    private var lastDraw: Double
    private var drawn = false
    static let interval = 0.2

    /// A progress line for `parts` replays of the trace at `path`, or nil if
    /// `quiet` or standard error is not a terminal.
    static func make(trace path: String, title: String? = nil, parts: Int = 1, quiet: Bool) -> ProgressLine? {
        guard !quiet, isatty(2) == 1 else { return nil }
        var st = stat()
        let size = path != "-" && stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? UInt64(st.st_size) : 0
        return ProgressLine(title: title ?? (path as NSString).lastPathComponent, fileSize: size, parts: parts)
    }

    private init(title: String, fileSize: UInt64, parts: Int) {
        self.title = title
        self.fileSize = fileSize
        lastDraw = started
        bytes = Array(repeating: 0, count: parts)
        events = Array(repeating: 0, count: parts)
    }

    /// Records that replay `part` has read `bytes` and applied `events`;
    /// redraws if due. Bytes beyond the file's size (`UInt64.max` for a
    /// replay that has ended) count as the whole file.
    func update(part: Int = 0, bytes b: UInt64, events e: Int) {
        lock.lock()
        defer { lock.unlock() }
        bytes[part] = fileSize > 0 ? min(b, fileSize) : 0
        events[part] = e
        let now = monotonicSeconds()
        if now - lastDraw >= Self.interval {
            lastDraw = now
            draw(now)
        }
    }

    /// Erases the line (before anything else is printed).
    func clear() {
        lock.lock()
        defer { lock.unlock() }
        if drawn {
            printRaw("\r\u{1B}[K")
            drawn = false
        }
    }

    private func draw(_ now: Double) {
        let elapsed = max(now - started, 1e-3)
        let done = bytes.reduce(0, +), total = fileSize * UInt64(bytes.count)
        let n = events.reduce(0, +)
        var line = title + ":"
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        if total > 0 { line += " \(formatFixed(100 * fraction, 1)) %," }
        line += " \(formatRate(Double(n))) events, \(formatRate(Double(n) / elapsed)) events/s"
        if fraction > 0.001 { line += ", ETA \(clock(elapsed * (1 - fraction) / fraction))" }
        printRaw("\r\u{1B}[K" + line)
        drawn = true
    }

    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }

    private func printRaw(_ s: String) {
        _ = s.withCString { write(2, $0, strlen($0)) }
    }
}
