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
    public static func run(trace: String, options: ReplayOptions, label: String?,
                           store: ResultStore, comparisonID: Int64? = nil, sweepJob: String? = nil) throws -> Outcome {
        let runID = try store.beginRun(trace: trace, label: label, config: options.machine, comparisonID: comparisonID,
                                       sweepJob: sweepJob)
        let writer = try store.writer(run: runID)
        var sink = writer
        do {
            let summary = try Replayer.run(path: trace, options: options, sink: &sink) { config in
                try store.updateConfig(runID, config)
            }
            try writer.finish(summary)
            return Outcome(runID: runID, summary: summary)
        } catch {
            try? store.failRun(runID, error: "\(error)")
            throw error
        }
    }
}
