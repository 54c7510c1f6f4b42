import ArgumentParser
import Foundation
import MemModel
import MemStore
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
            FILE:LINE: message and leaves no output. The output is written uncompressed \
            (compress it afterwards with zstd if you like; .mtb.zst replays too).
            """
    )

    @Argument(help: "Text trace (memtrace v1; .gz and .zst are decompressed).")
    var trace: String

    @Option(name: [.short, .customLong("output")], help: "Binary trace to write, or - for standard output (default: the trace's name with .mtb).")
    var output: String?

    func run() throws {
        let out = output ?? Self.defaultOutput(trace)
        if out.hasSuffix(".gz") || out.hasSuffix(".zst") {
            throw ValidationError("convert writes uncompressed output; name it .mtb and compress it afterwards")
        }
        // Written beside the output and renamed into place when complete:
        // a failed conversion leaves nothing, and never a partial file.
        let output = try OutputFile(out, inputs: [trace])
        // A signal stops the conversion at its next read, leaving no output.
        installInterruptHandlers()
        let started = monotonicSeconds()
        let reader = try TraceReader(path: trace)
        let written: Int
        do {
            written = try output.write { path in try BinaryTrace.convert(reader, to: TraceWriter(path: path)) }
        } catch {
            if let e = error as? TraceError { printError("\(e)"); throw ExitCode(1) }
            if let e = error as? OutputError { printError("\(out): \(e.message)"); throw ExitCode(1) }
            if let e = error as? SourceError { printError("\(out): \(e.message)"); throw ExitCode(1) }
            printError("\(out): \(error.localizedDescription)")
            throw ExitCode(1)
        }
        let inBytes = (try? FileManager.default.attributesOfItem(atPath: trace)[.size] as? Int) ?? 0
        let summary = "\(trace) -> \(out): \(reader.statements) statements, \(inBytes) -> \(written) bytes, \(formatFixed(monotonicSeconds() - started, 2)) s"
        // With -o -, standard output carries the trace itself.
        if out == "-" { printError(summary) } else { print(summary) }
        try exitIfInterrupted()
    }

    static func defaultOutput(_ trace: String) -> String {
        var base = trace
        for ext in [".gz", ".zst", ".trace", ".txt"] where base.hasSuffix(ext) { base.removeLast(ext.count) }
        return base + ".mtb"
    }
}
