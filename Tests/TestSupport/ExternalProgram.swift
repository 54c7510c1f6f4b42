import Foundation
import Testing

// Programs from outside the package that some tests run. A newcomer's
// `swift test` on a fresh machine must pass without them, so such a test is
// skipped, with its reason printed, where the program is not on PATH. Under
// CI (CI set in the environment; .ci/run sets it and installs them) it always
// runs, and fails where the program is missing: CI never passes by skipping.

/// A program a test runs, looked up on `PATH`.
public struct ExternalProgram: Sendable {
    /// What messages call it.
    public let title: String
    /// The names it may be installed under, in the order tried.
    public let names: [String]
    /// The Debian package that installs it.
    public let package: String
    /// Where it is, or nil where it is not installed.
    public let path: String?

    /// `identifiedBy`: text that `PROGRAM --version` prints, for a name that
    /// another program may also have (moreutils has a `parallel` too).
    init(_ title: String, names: [String], package: String, identifiedBy marker: String? = nil) {
        self.title = title
        self.names = names
        self.package = package
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        path = names.lazy.flatMap { name in dirs.lazy.map { "\($0)/\(name)" } }.first { candidate in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                  FileManager.default.isExecutableFile(atPath: candidate) else { return false }
            return marker.map { ExternalProgram.version(of: candidate).contains($0) } ?? true
        }
    }

    /// Headless Chromium, for the report's rendering check.
    public static let chromium = ExternalProgram("Chromium", names: ["chromium", "chromium-browser", "google-chrome"], package: "chromium")
    /// GNU parallel, for the sweep tests that run a plan as the README does.
    public static let gnuParallel = ExternalProgram("GNU parallel", names: ["parallel"], package: "parallel", identifiedBy: "GNU parallel")

    /// True under CI, where every program a test needs must be there.
    public static let isCI: Bool = {
        let value = ProcessInfo.processInfo.environment["CI"] ?? ""
        return !["", "0", "false", "no"].contains(value.lowercased())
    }()

    /// Why a test that needs this program did not run.
    public var missing: String {
        "\(title) is not on PATH (apt-get install -y \(package)); under CI this test would fail"
    }

    /// The program's path; outside CI the test never gets here without one.
    public func require(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try #require(path, "\(title) is not on PATH, and under CI (CI=\(ProcessInfo.processInfo.environment["CI"] ?? "")) the test needs it (apt-get install -y \(package))",
                     sourceLocation: sourceLocation)
    }

    private static func version(of executable: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["--version"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return "" }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test where `program` is installed, and always under CI;
    /// skips it elsewhere, printing what to install.
    public static func needs(_ program: ExternalProgram) -> Self {
        .enabled(if: program.path != nil || ExternalProgram.isCI, Comment(rawValue: program.missing))
    }
}
