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

    @Option(help: "Event statements to write (ticks, header and directives not counted; default 100000). Not for llfree-frag.")
    var events: Int?

    @Option(help: ArgumentHelp("llfree-frag: memory size (K/M/G, a multiple of 1M, up to 4G).", valueName: "size"))
    var mem: String?

    @Option(help: "llfree-frag: rounds of 10 % frees and reallocations, one tick each.")
    var iterations: Int?

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(name: [.short, .customLong("output")], help: "Output file (- for standard output).")
    var output: String = "-"

    func validate() throws {
        if let events, events < 1 { throw ValidationError("--events must be at least 1") }
        if workload == .llfreeFrag {
            if events != nil { throw ValidationError("llfree-frag is sized by --mem and --iterations, not --events") }
            if let mem { guard let b = parseSize(mem), b >= 1 << 20, b <= 1 << 32, b % (1 << 20) == 0 else {
                throw ValidationError("--mem must be a multiple of 1M from 1M to 4G, e.g. 1G")
            } }
            if let iterations, iterations < 0 { throw ValidationError("--iterations must be 0 or more") }
        } else if mem != nil || iterations != nil {
            throw ValidationError("--mem and --iterations are llfree-frag's; \(workload.rawValue) is sized by --events")
        }
    }

    func run() throws {
        // Through OutputFile like every -o: written beside the destination
        // and renamed into place, so a failed or interrupted gen leaves no
        // truncated trace, and a device, FIFO or link is never replaced.
        let out = try OutputFile(output, inputs: [])
        // A signal stops the writing at its next buffer; the partial file goes.
        installInterruptHandlers()
        do {
            try out.write { path in
                let w = try TraceWriter(path: path)
                try generate(workload, events: events ?? (workload == .llfreeFrag ? .max : 100_000), seed: seed, to: w,
                             memory: mem.flatMap(parseSize) ?? 1 << 30, iterations: iterations ?? 100)
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
