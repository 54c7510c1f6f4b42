import Foundation
import MemModel
import MemStore

let packageRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("memreplay-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

func writeTrace(_ text: String, name: String = "t.trace") -> String {
    let p = temporaryPath(name)
    FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
    return p
}

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
