import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A request to stop, set from a signal handler (SIGINT, SIGTERM).
///
/// It lives with the readers because they are where a stop has to be seen
/// first: a read blocked on a stalled pipe or FIFO returns `EINTR` when the
/// handler runs (the command line installs it without `SA_RESTART`), and the
/// readers then throw ``message`` instead of reading again. They also look
/// at it before every refill of their buffer, so an import or a conversion
/// of a file stops within one buffer. The replay loop looks every 65,536
/// events (and at every `--check`), rarely enough to cost nothing, often
/// enough to stop within milliseconds; the run is then recorded as `failed`,
/// never `ok`.
public enum Interruption {
    private static let flag = Atomic<Int32>(0)

    /// Async-signal-safe: one atomic store.
    public static func request(signal: Int32) { flag.store(signal, ordering: .relaxed) }

    /// The signal that asked to stop, or 0.
    public static var requested: Int32 { flag.load(ordering: .relaxed) }

    /// `interrupted by SIGTERM` (or the signal's number when it has no
    /// common name), for the error that stops the work.
    public static var message: String { "interrupted by \(name(requested))" }

    /// SIGINT, SIGTERM, or `signal N`.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }
}
