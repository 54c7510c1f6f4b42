import Foundation

/// The package's folder, for the bundled traces.
let packageRoot = CommandLineTests.root

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
