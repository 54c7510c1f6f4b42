import Foundation

// Paths the test targets share: test targets cannot import one another, so
// what more than one needs lives in this small library of its own.

/// The package's folder, for the bundled traces and fixtures.
public let packageRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// A path named `name` in a new temporary folder of its own.
public func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("memreplay-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

/// A trace file holding `text`, in a temporary folder of its own.
public func writeTrace(_ text: String, name: String = "t.trace") -> String {
    let p = temporaryPath(name)
    _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
    return p
}
