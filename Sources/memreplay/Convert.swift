import ArgumentParser
import Foundation
import MemModel
import MemTrace

/// `memreplay convert TRACE -o OUT.mtb`: text to memtrace-bin.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a text trace to the binary encoding (memtrace-bin), which replays faster.",
        discussion: """
            The binary file holds the same statements and the text's line numbers, so a \
            replay of it gives the same results and its errors name the original lines. \
            Every command that reads traces recognises it by its first bytes. The text is \
            checked as `validate` checks it; a bad statement stops the conversion with \
            FILE:LINE: message and removes the partial output.
            """
    )

    @Argument(help: "Text trace (memtrace v1; .gz and .zst are decompressed).")
    var trace: String

    @Option(name: [.short, .customLong("output")], help: "Binary trace to write (default: the trace's name with .mtb).")
    var output: String?

    func run() throws {
        let out = output ?? Self.defaultOutput(trace)
        guard out != trace else { throw ValidationError("the output would overwrite the trace; give -o") }
        let started = monotonicSeconds()
        let reader = try TraceReader(path: trace)
        let writer = try TraceWriter(path: out)
        do {
            let written = try BinaryTrace.convert(reader, to: writer)
            let inBytes = (try? FileManager.default.attributesOfItem(atPath: trace)[.size] as? Int) ?? 0
            print("\(trace) -> \(out): \(reader.statements) statements, \(inBytes) -> \(written) bytes, \(format(monotonicSeconds() - started, 2)) s")
        } catch {
            if out != "-" { try? FileManager.default.removeItem(atPath: out) }
            if let e = error as? TraceError { printError("\(e)"); throw ExitCode(1) }
            if let e = error as? SourceError { printError("\(out): \(e.message)"); throw ExitCode(1) }
            throw error
        }
    }

    static func defaultOutput(_ trace: String) -> String {
        var base = trace
        for ext in [".gz", ".zst", ".trace", ".txt"] where base.hasSuffix(ext) { base.removeLast(ext.count) }
        return base + ".mtb"
    }
}
