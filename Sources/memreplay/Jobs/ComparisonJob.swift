import Foundation
import MemModel
import MemStore

/// Replays of one trace under several configurations ("variants"), run in
/// parallel and recorded as runs that share a `comparison_id`.
///
/// The runs' rows are reserved first, in one transaction
/// (``ResultStore/beginComparison(trace:runs:)``), so run ids follow the
/// order of the variants. Then up to `threads` threads each take the next
/// variant, open their own connection to the same file and replay; their
/// writes take turns at the file's write lock (``RunWriter``). The model is deterministic and shares nothing between
/// threads, so every run's rows equal those of a replay on its own.
enum ComparisonJob {
    struct Variant: Sendable {
        var label: String
        var options: ReplayOptions
        init(label: String, options: ReplayOptions) {
            self.label = label
            self.options = options
        }
    }

    struct Outcome: Sendable {
        var comparisonID: Int64
        /// One per variant, in variant order.
        var runIDs: [Int64]
        /// The error message of each variant that failed, by variant index.
        var errors: [Int: String]
    }

    /// Reports progress: variant index, bytes of the trace read, events
    /// applied; every 2^16 events, and once more when the variant has ended,
    /// then with `UInt64.max` bytes.
    typealias Progress = @Sendable (Int, UInt64, Int) -> Void

    /// Replays every variant of `trace` into the database at `db`.
    ///
    /// Failures of single variants (a trace error, say) are recorded as
    /// failed runs and returned in ``Outcome/errors``; errors that stop the
    /// whole comparison (the database cannot be opened) are thrown.
    static func run(trace: String, variants: [Variant], db: String,
                    threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                    progress: Progress? = nil) throws -> Outcome {
        let store = try ResultStore(path: db)
        let (comparisonID, runIDs) = try store.beginComparison(
            trace: trace, runs: variants.map { (label: $0.label, config: $0.options.machine) })

        let work = Work(count: variants.count)
        let group = DispatchGroup()
        for _ in 0..<max(1, min(threads, variants.count)) {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                while let i = work.next() {
                    var events = 0
                    do {
                        let store = try ResultStore(path: db)
                        let outcome = try ReplayJob.run(runID: runIDs[i], trace: trace, options: variants[i].options,
                                                        store: store,
                                                        progress: progress.map { p in { p(i, $0, $1) } })
                        events = outcome.summary.events
                    } catch {
                        work.failed(i, "\(error)")
                    }
                    progress?(i, .max, events)
                }
            }
            // The replay loop's frames are small, but the default stack of a
            // secondary thread (512 KiB) is no place to find out.
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        // A variant that failed before its replay began (its thread could not
        // open the database) would otherwise stay `running`.
        for (i, message) in work.errors {
            try store.failRun(runIDs[i], error: message)
        }
        return Outcome(comparisonID: comparisonID, runIDs: runIDs, errors: work.errors)
    }

    /// The variants not yet started, and the failures so far.
    private final class Work: @unchecked Sendable {
        private let lock = NSLock()
        private var nextIndex = 0
        private let count: Int
        private var failures: [Int: String] = [:]

        init(count: Int) { self.count = count }

        func next() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard nextIndex < count else { return nil }
            nextIndex += 1
            return nextIndex - 1
        }

        func failed(_ i: Int, _ message: String) {
            lock.lock()
            failures[i] = message
            lock.unlock()
        }

        var errors: [Int: String] {
            lock.lock()
            defer { lock.unlock() }
            return failures
        }
    }
}
