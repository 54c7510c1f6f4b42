import ArgumentParser
import MemTrace

/// `memreplay validate TRACE…`: parse without replaying.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that traces parse; print a count of statements by kind.",
        discussion: """
            Only the syntax and the per-statement rules are checked (numbers, ranges, \
            alignment, names, directive order); rules that need the machine's state, such \
            as freeing a handle twice, are found by replay.
            """
    )

    @Argument(help: "Trace files.")
    var traces: [String]

    func run() throws {
        var failed = false
        for trace in traces {
            do {
                let reader = try TraceReader(path: trace)
                var counts = Array(repeating: 0, count: Statement.allCases.count)
                var accesses = Array(repeating: 0, count: AccessKind.allCases.count)
                // The replay's own decoding (batches), so validating costs
                // no more than a replay's parse; accesses, nearly every
                // statement of a recorded trace, are counted by kind directly.
                let batch = EventBatch()
                while true {
                    try reader.nextBatch(batch)
                    if batch.count == 0 { break }
                    for e in UnsafeBufferPointer(start: batch.events, count: batch.count) {
                        if case .access(let kind, _, _) = e {
                            accesses[Int(kind.rawValue)] &+= 1
                        } else {
                            counts[e.statement.rawValue] += 1
                        }
                    }
                }
                for kind in AccessKind.allCases { counts[Statement(kind).rawValue] += accesses[Int(kind.rawValue)] }
                print("\(trace): ok, \(counts.reduce(0, +)) statements, \(reader.line) lines")
                for s in Statement.allCases where counts[s.rawValue] > 0 {
                    print("  \(s.keyword.padding(toLength: 9, withPad: " ", startingAt: 0)) \(counts[s.rawValue])")
                }
            } catch {
                printError("\(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
