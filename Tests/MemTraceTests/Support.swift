import Foundation
import TestSupport
import Testing
@testable import MemTrace

/// The header every valid trace starts with.
let header = "memtrace 1\n"

/// The repository's root folder (for traces/, fixtures and the README).
let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// Reads every event of `bytes` from memory, `chunk` bytes per source read.
func readAll(bytes: [UInt8], chunk: Int = .max, path: String = "test.trace") throws(TraceError) -> [Event] {
    let reader = TraceReader(path: path, source: MemorySource(bytes: bytes, chunk: chunk))
    var events: [Event] = []
    while let e = try reader.next() { events.append(e) }
    return events
}

/// Reads every event of `text` from memory, `chunk` bytes per source read.
func readAll(_ text: String, chunk: Int = .max, path: String = "test.trace") throws(TraceError) -> [Event] {
    try readAll(bytes: Array(text.utf8), chunk: chunk, path: path)
}

/// Reads every event of the file at `path` (decompressing `.gz` and `.zst`).
func readFile(_ path: String) throws(TraceError) -> [Event] {
    let reader = try TraceReader(path: path)
    var events: [Event] = []
    while let e = try reader.next() { events.append(e) }
    return events
}

/// The events read before the error, and the error (nil when the whole input is valid).
struct Outcome: Equatable {
    var events: [Event]
    var error: TraceError?
}

/// Reads `bytes` statement by statement; unless `batches` is false, also
/// reads them a batch at a time (batches of 3 and 4096 events) and expects
/// the same events, lines and error — so every corpus and fuzz case checks
/// the replay's path too.
func outcome(bytes: [UInt8], chunk: Int = .max, path: String = "test.trace", batches: Bool = true) -> Outcome {
    let reader = TraceReader(path: path, source: MemorySource(bytes: bytes, chunk: chunk))
    var events: [Event] = []
    var lines: [Int] = []
    let result: Outcome
    do {
        while let e = try reader.next() {
            events.append(e)
            lines.append(reader.line)
        }
        result = Outcome(events: events, error: nil)
    } catch {
        result = Outcome(events: events, error: error)
    }
    for capacity in batches ? [3, EventBatch.defaultCapacity] : [] {
        let (batched, batchLines) = batchOutcome(bytes: bytes, chunk: chunk, path: path, capacity: capacity)
        #expect(batched == result, "batches of \(capacity)")
        #expect(batchLines == lines, "batches of \(capacity)")
    }
    return result
}

/// ``outcome(bytes:chunk:path:)`` through ``TraceReader/nextBatch(_:)``.
func batchOutcome(bytes: [UInt8], chunk: Int, path: String, capacity: Int) -> (Outcome, [Int]) {
    let reader = TraceReader(path: path, source: MemorySource(bytes: bytes, chunk: chunk))
    let batch = EventBatch(capacity: capacity)
    var events: [Event] = []
    var lines: [Int] = []
    do {
        while true {
            try reader.nextBatch(batch)
            if batch.count == 0 { return (Outcome(events: events, error: nil), lines) }
            events += batch.array
            lines += (0..<batch.count).map { batch.lines[$0] }
        }
    } catch {
        return (Outcome(events: events, error: error), lines)
    }
}

func outcome(_ text: String, chunk: Int = .max) -> Outcome {
    outcome(bytes: Array(text.utf8), chunk: chunk)
}

/// Number of lines of `bytes` as an editor counts them: a last line without
/// a newline still counts.
func lineCount(_ bytes: [UInt8]) -> Int {
    let newlines = bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    return newlines + (bytes.last.map { $0 != 0x0A } ?? false ? 1 : 0)
}

/// A fresh, empty temporary directory (in the test process's scratch
/// folder, which goes at exit; callers may remove it sooner).
func makeTempDirectory() throws -> URL {
    URL(fileURLWithPath: scratchDirectory("memtrace"), isDirectory: true)
}

struct ToolFailure: Error, CustomStringConvertible {
    var description: String
}

/// Runs `executable` with `arguments`, writing its standard output to `stdout`.
func run(_ executable: String, _ arguments: [String], stdout: URL) throws {
    _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
    let out = try FileHandle(forWritingTo: stdout)
    defer { try? out.close() }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw ToolFailure(description: "\(executable) \(arguments.joined(separator: " ")) exited with \(p.terminationStatus)")
    }
}

/// Compresses `input` with `/usr/bin/gzip -c` into `output`.
func gzip(_ input: URL, to output: URL) throws {
    try run("/usr/bin/gzip", ["-c", "-n", input.path], stdout: output)
}

/// Compresses `input` with `/usr/bin/zstd -c` into `output`.
func zstd(_ input: URL, to output: URL) throws {
    try run("/usr/bin/zstd", ["-q", "-c", input.path], stdout: output)
}
