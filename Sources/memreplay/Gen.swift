import ArgumentParser
import MemTrace

extension Workload: ExpressibleByArgument {}

/// `memreplay gen WORKLOAD`: deterministic synthetic traces.
struct Gen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a synthetic memtrace v1 workload.",
        discussion: "Workloads:\n" + Workload.allCases.map { "  \($0.rawValue): \($0.summary)" }.joined(separator: "\n")
            + "\nThe same workload, event count and seed always give the same trace."
    )

    @Argument(help: "The workload.")
    var workload: Workload

    @Option(help: "Event statements to write (ticks, header and directives not counted).")
    var events: Int = 100_000

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(name: [.short, .customLong("output")], help: "Output file (- for standard output).")
    var output: String = "-"

    func validate() throws {
        guard events >= 1 else { throw ValidationError("--events must be at least 1") }
    }

    func run() throws {
        // Through OutputFile like every -o: written beside the destination
        // and renamed into place, so a failed or interrupted gen leaves no
        // truncated trace, and a device, FIFO or link is never replaced.
        let out = try OutputFile(output, inputs: [])
        do {
            try out.write { path in
                let w = try TraceWriter(path: path)
                try generate(workload, events: events, seed: seed, to: w)
            }
        } catch let error as SourceError {
            printError("memreplay gen: \(error.message)")
            throw ExitCode(1)
        } catch {
            printError("memreplay gen: \(error)")
            throw ExitCode(1)
        }
    }
}
