import Synchronization

/// A request to stop the replay, set from a signal handler (SIGINT, SIGTERM).
///
/// The replay loop looks at it every 65,536 events — rarely enough to cost
/// nothing, often enough to stop within milliseconds — and then fails the
/// run with a message, so an interrupted run is recorded as `failed`, never `ok`.
public enum Interruption {
    private static let flag = Atomic<Int32>(0)

    /// Async-signal-safe: one atomic store.
    public static func request(signal: Int32) { flag.store(signal, ordering: .relaxed) }

    /// The signal that asked to stop, or 0.
    public static var requested: Int32 { flag.load(ordering: .relaxed) }
}
