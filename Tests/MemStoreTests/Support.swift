import MemModel
import MemStore

/// Replays `trace` into `store` as a new run, or into `run` if it is
/// already recorded: the store's side of a replay, without the command
/// line's jobs (which have their own tests in MemReplayTests).
@discardableResult
func record(_ trace: String, options: ReplayOptions = ReplayOptions(), label: String? = nil,
            into store: ResultStore, run: Int64? = nil) throws -> Int64 {
    let run = try run ?? store.beginRun(trace: trace, label: label, config: options.machine)
    let prepared = try Replayer.prepare(path: trace, options: options)
    try store.updateConfig(run, prepared.config)
    var writer = try store.writer(run: run)
    let summary = try Replayer.run(prepared, sink: &writer)
    try writer.finish(summary)
    return run
}
