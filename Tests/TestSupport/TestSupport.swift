import Foundation

// Paths the test targets share: test targets cannot import one another, so
// what more than one needs lives in this small library of its own.

/// The package's folder, for the bundled traces and fixtures.
public let packageRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// The folder every test's files go in, one per test process; removed when
/// the process exits normally (a crashed run leaves it for a look).
private let scratchRoot: String = {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("memreplay-tests-\(getpid())").path
    try? FileManager.default.removeItem(atPath: dir)  // a dead run's, with a reused PID
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: scratchRoot) }
    return dir
}()

/// A new, empty folder for one test (`prefix` says whose, for a look at a
/// crashed run's files).
public func scratchDirectory(_ prefix: String = "t") -> String {
    let dir = scratchRoot + "/\(prefix)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A path named `name` in a new temporary folder of its own.
public func temporaryPath(_ name: String) -> String {
    scratchDirectory() + "/" + name
}

/// A trace file holding `text`, in a temporary folder of its own.
public func writeTrace(_ text: String, name: String = "t.trace") -> String {
    let p = temporaryPath(name)
    _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
    return p
}
