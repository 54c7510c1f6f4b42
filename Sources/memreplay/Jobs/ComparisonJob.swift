import Foundation
import MemModel
import MemStore
import MemTrace

/// Replays of one trace under several configurations ("variants"), run in
/// parallel and recorded as runs that share a `comparison_id`.
///
/// The runs' rows are reserved first, in one transaction
/// (``ResultStore/beginComparison(trace:runs:)``), so run ids follow the
/// order of the variants. Then the variants replay, each on a thread with
/// its own connection to the same file, from one decode of the trace
/// (``SharedDecode``); their writes take turns at the file's write lock
/// (``RunWriter``). The model is deterministic and shares nothing between
/// threads, and each variant sees the events a reader of its own would
/// give it, so every run's rows equal those of a replay on its own.
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
    /// The variants replay `threads` at a time (default: all at once), each
    /// group from one ``SharedDecode`` of the trace: a decoder thread reads
    /// and parses the trace once, and every variant of the group runs its
    /// model on a thread of its own over the same batches of events.
    ///
    /// Failures of single variants (a trace error, say) are recorded as
    /// failed runs and returned in ``Outcome/errors``; errors that stop the
    /// whole comparison (the database cannot be opened) are thrown.
    static func run(trace: String, variants: [Variant], db: String,
                    threads: Int? = nil,
                    progress: Progress? = nil) throws -> Outcome {
        let store = try ResultStore(path: db)
        let (comparisonID, runIDs) = try store.beginComparison(
            trace: trace, runs: variants.map { (label: $0.label, config: $0.options.machine) })

        let work = Work()
        let size = max(1, min(threads ?? variants.count, variants.count))
        for start in stride(from: 0, to: variants.count, by: size) {
            let group = Array(start..<min(start + size, variants.count))
            if group.count == 1 {
                runAlone(group[0], trace: trace, variant: variants[group[0]], runID: runIDs[group[0]], db: db,
                         work: work, progress: progress)
            } else {
                runShared(group, trace: trace, variants: variants, runIDs: runIDs, dbs: Array(repeating: db, count: variants.count),
                          work: work, progress: progress)
            }
            if Interruption.requested != 0 {
                for i in group.last! + 1 ..< variants.count { work.failed(i, "\(Interruption.message) before the variant started") }
                break
            }
        }
        // A variant that failed before its replay began (its thread could not
        // open the database, or a signal came first) would otherwise stay
        // `running`.
        for (i, message) in work.errors {
            try store.failRun(runIDs[i], error: message)
        }
        return Outcome(comparisonID: comparisonID, runIDs: runIDs, errors: work.errors)
    }

    /// One variant, its own reader: as `memreplay replay`.
    private static func runAlone(_ i: Int, trace: String, variant: Variant, runID: Int64, db: String,
                                 work: Work, progress: Progress?) {
        var events = 0
        do {
            let store = try ResultStore(path: db)
            let outcome = try ReplayJob.run(runID: runID, trace: trace, options: variant.options, store: store,
                                            progress: progress.map { p in { p(i, $0, $1) } })
            events = outcome.summary.events
        } catch {
            work.failed(i, "\(error)")
        }
        work.ended(i, events: events, progress)
    }

    /// The variants of `group`, each on a thread of its own, from one decode
    /// on another thread; variant `i` writes run `runIDs[i]` of the database
    /// at `dbs[i]` (one file for a comparison, a shard each for a sweep).
    static func runShared(_ group: [Int], trace: String, variants: [Variant], runIDs: [Int64], dbs: [String],
                          work: Work, progress: Progress?) {
        let shared: SharedDecode
        do {
            shared = try SharedDecode(reader: try TraceReader(path: trace), variants: group.count)
        } catch {
            // The trace cannot be opened or its directives are broken: each
            // variant fails as a replay of its own would.
            for i in group {
                work.failed(i, "\(error)")
                work.ended(i, events: 0, progress)
            }
            return
        }
        let threads = DispatchGroup()
        for (k, i) in group.enumerated() {
            let consumer = shared.consumer(k)
            let options = variants[i].options, runID = runIDs[i], db = dbs[i]
            startThread(in: threads) {
                var events = 0
                do {
                    let store = try ResultStore(path: db)
                    let outcome = try ReplayJob.run(runID: runID, consumer: consumer, options: options, store: store,
                                                    progress: progress.map { p in { p(i, $0, $1) } })
                    events = outcome.summary.events
                } catch {
                    consumer.stop()
                    work.failed(i, "\(error)")
                }
                work.ended(i, events: events, progress)
            }
        }
        startThread(in: threads) { shared.decode() }
        threads.wait()
    }

    /// The failures so far, and the events each ended variant applied, by
    /// variant index.
    final class Work: @unchecked Sendable {
        private let lock = NSLock()
        private var failures: [Int: String] = [:]
        private var applied: [Int: Int] = [:]

        /// Variant `i` has ended after `events` events; the last progress
        /// report says so (bytes `UInt64.max`).
        func ended(_ i: Int, events: Int, _ progress: Progress?) {
            lock.lock()
            applied[i] = events
            lock.unlock()
            progress?(i, .max, events)
        }

        /// Events variant `i` applied (0 until it has ended).
        func events(of i: Int) -> Int {
            lock.lock()
            defer { lock.unlock() }
            return applied[i] ?? 0
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
