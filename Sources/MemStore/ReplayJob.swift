import MemModel
import MemTrace

/// One replay of one trace into the results database.
public enum ReplayJob {
    public struct Outcome: Sendable {
        public var runID: Int64
        public var summary: ReplaySummary
    }

    /// Replays `trace` and records it as a run. On a trace error the run is
    /// marked `failed` with the `FILE:LINE: message` and the error rethrown.
    /// `progress` is ``Replayer``'s: bytes read and events, every 2^16 events.
    public static func run(trace: String, options: ReplayOptions, label: String?,
                           store: ResultStore, comparisonID: Int64? = nil, sweepJob: String? = nil,
                           progress: ((UInt64, Int) -> Void)? = nil) throws -> Outcome {
        let runID = try store.beginRun(trace: trace, label: label, config: options.machine, comparisonID: comparisonID,
                                       sweepJob: sweepJob)
        return try run(runID: runID, trace: trace, options: options, store: store, gate: nil, progress: progress)
    }

    /// Replays `trace` into a run already recorded as `running` by
    /// ``ResultStore/beginRun(trace:label:config:comparisonID:sweepJob:)``.
    ///
    /// With a `gate`, the rows go through a ``SharedRunWriter`` so that
    /// several replays can write to the same file at once; without one,
    /// straight through a ``RunWriter``.
    public static func run(runID: Int64, trace: String, options: ReplayOptions, store: ResultStore,
                           gate: WriteGate?, progress: ((UInt64, Int) -> Void)? = nil) throws -> Outcome {
        do {
            let writer = try store.writer(run: runID)
            let configured: (MachineConfig) throws -> Void = { config in
                if let gate {
                    try gate.withLock { try store.updateConfig(runID, config) }
                } else {
                    try store.updateConfig(runID, config)
                }
            }
            let summary: ReplaySummary
            if let gate {
                var sink = SharedRunWriter(writer: writer, gate: gate)
                summary = try Replayer.run(path: trace, options: options, sink: &sink,
                                           configured: configured, progress: progress)
                try sink.finish(summary)
            } else {
                var sink = writer
                summary = try Replayer.run(path: trace, options: options, sink: &sink,
                                           configured: configured, progress: progress)
                try writer.finish(summary)
            }
            return Outcome(runID: runID, summary: summary)
        } catch {
            if let gate {
                gate.withLock { try? store.failRun(runID, error: "\(error)") }
            } else {
                try? store.failRun(runID, error: "\(error)")
            }
            throw error
        }
    }
}
