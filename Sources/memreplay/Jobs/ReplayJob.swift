import Foundation
import MemModel
import MemStore
import MemTrace

/// One replay of one trace into the results database: the model and the
/// store meet here, not in either of them.
enum ReplayJob {
    struct Outcome: Sendable {
        var runID: Int64
        var summary: ReplaySummary
    }

    /// Replays `trace` and records it as a run. On a trace error the run is
    /// marked `failed` with the `FILE:LINE: message` and the error rethrown.
    /// `progress` is ``Replayer``'s: bytes read and events, every 2^16 events.
    static func run(trace: String, options: ReplayOptions, label: String?,
                    store: ResultStore, comparisonID: Int64? = nil, sweepJob: String? = nil,
                    progress: ((UInt64, Int) -> Void)? = nil) throws -> Outcome {
        let runID = try store.beginRun(trace: trace, label: label, config: options.machine, comparisonID: comparisonID,
                                       sweepJob: sweepJob)
        return try run(runID: runID, trace: trace, options: options, store: store, progress: progress)
    }

    /// Replays `trace` into a run already recorded as `running` by
    /// ``ResultStore/beginRun(trace:label:config:comparisonID:sweepJob:)``.
    ///
    /// The machine's configuration is stored once the trace's directives
    /// have resolved it and before the first tick row, so a run killed in
    /// the middle still says which machine it ran. The rows go through a
    /// ``RunWriter``, whose short write transactions let other replays (of
    /// this process or others) write the same file at once.
    static func run(runID: Int64, trace: String, options: ReplayOptions, store: ResultStore,
                    progress: ((UInt64, Int) -> Void)? = nil) throws -> Outcome {
        if pipelines(trace) {
            return try pipelined(runID: runID, trace: trace, options: options, store: store, progress: progress)
        }
        do {
            let writer = try store.writer(run: runID)
            let prepared = try Replayer.prepare(path: trace, options: options)
            try store.updateConfig(runID, prepared.config)
            var sink = writer
            let summary = try Replayer.run(prepared, sink: &sink, progress: progress)
            try writer.finish(summary)
            return Outcome(runID: runID, summary: summary)
        } catch {
            recordFailure(runID, error, store: store)
            throw error
        }
    }

    /// Whether a replay of `trace` decodes on a thread of its own: on a
    /// machine with more than one core, for a regular file (a model error
    /// is then worded by reading the file again up to its line, which a
    /// pipe or standard input cannot give).
    static func pipelines(_ trace: String) -> Bool {
        var st = stat()
        return ProcessInfo.processInfo.activeProcessorCount > 1
            && trace != "-" && stat(trace, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// A replay as two threads: the decoder reads and parses the trace into
    /// a ring of batches (``SharedDecode`` with one variant) while this
    /// thread runs the model and writes the rows, so decoding costs the
    /// replay no time of its own once the model is the slower side. The
    /// events, and so the rows and errors, are those of a reader of its own.
    static func pipelined(runID: Int64, trace: String, options: ReplayOptions, store: ResultStore,
                          progress: ((UInt64, Int) -> Void)?) throws -> Outcome {
        let shared: SharedDecode
        do {
            shared = try SharedDecode(reader: try TraceReader(path: trace), variants: 1)
        } catch {
            recordFailure(runID, error, store: store)
            throw error
        }
        let decoder = DispatchGroup()
        startThread(in: decoder) { shared.decode() }
        defer { decoder.wait() }
        return try run(runID: runID, consumer: shared.consumer(0), options: options, store: store, progress: progress)
    }

    /// Replays one variant of a ``SharedDecode`` into a run already
    /// recorded as `running`, as ``run(runID:trace:options:store:progress:)``
    /// does from a reader of its own — with the same rows and the same
    /// error, a model error worded by ``SharedDecode/word(_:)``.
    static func run(runID: Int64, consumer: SharedDecode.Consumer, options: ReplayOptions, store: ResultStore,
                    progress: ((UInt64, Int) -> Void)? = nil) throws -> Outcome {
        do {
            let writer = try store.writer(run: runID)
            let config = try Replayer.configuration(consumer.shared.directives, options: options, path: consumer.path)
            try store.updateConfig(runID, config)
            var sink = writer
            let summary: ReplaySummary
            do {
                summary = try Replayer.run(consumer, config: config, sink: &sink, progress: progress)
            } catch let unnamed as UnnamedModelError {
                consumer.stop()
                throw consumer.shared.word(unnamed)
            }
            consumer.stop()
            try writer.finish(summary)
            return Outcome(runID: runID, summary: summary)
        } catch {
            consumer.stop()
            recordFailure(runID, error, store: store)
            throw error
        }
    }

    /// Marks run `runID` failed with `error`. A failure to record that is
    /// reported, not thrown: the replay's own error is the one the caller
    /// throws.
    static func recordFailure(_ runID: Int64, _ error: any Error, store: ResultStore) {
        do {
            try store.failRun(runID, error: "\(error)")
        } catch let lost {
            printError("memreplay: \(lost)")
        }
    }
}

/// Runs `body` on a thread of its own, counted in `group`. The replay
/// loop's frames are small, but the default stack of a secondary thread
/// (512 KiB) is no place to find out: 8 MiB, as the main thread has.
func startThread(in group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
    group.enter()
    let thread = Thread {
        defer { group.leave() }
        body()
    }
    thread.stackSize = 8 << 20
    thread.start()
}
