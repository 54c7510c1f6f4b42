import ArgumentParser
import MemModel
import MemStore
import MemTrace

#if canImport(Glibc)
import Glibc
#endif

/// `memreplay replay TRACE…`: replay traces into the results database.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay traces and store per-tick results in SQLite.",
        discussion: """
            Each trace becomes one run in the database. A bad statement stops that trace's \
            replay with FILE:LINE: message on standard error, records the run as failed, \
            and makes the exit status non-zero; earlier runs are never touched.
            """
    )

    @Argument(help: "Trace files (memtrace v1 text or memtrace-bin; .gz and .zst are decompressed).")
    var traces: [String]

    @Option(help: "Results database.")
    var db: String = "results.db"

    @Option(help: "A name for the run(s), stored in runs.label.")
    var label: String?

    @Flag(help: "Print nothing but errors (no summary, no progress line).")
    var quiet = false

    @OptionGroup var settings: ReplaySettings

    func run() throws {
        let options = try settings.options()
        installInterruptHandlers()
        let store = try openResults(db)
        var failed = false
        for trace in traces {
            // After a signal, no new run is begun.
            if Interruption.requested != 0 { break }
            let progress = ProgressLine.make(trace: trace, quiet: quiet)
            do {
                let outcome = try ReplayJob.run(trace: trace, options: options, label: label, store: store,
                                                progress: progress.map { p in { p.update(bytes: $0, events: $1) } })
                progress?.clear()
                if !quiet { print(Self.describe(outcome, trace: trace)) }
                if let mismatch = outcome.summary.allocationMismatch {
                    printError("\(mismatch) (the first allocation whose size differs from the capture's alloc=)")
                }
            } catch {
                progress?.clear()
                printError("\(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
        try exitIfInterrupted()
    }

    static func describe(_ o: ReplayJob.Outcome, trace: String) -> String {
        let s = o.summary
        return """
            run \(o.runID): \(trace) (pmm=\(s.config.pmm.rawValue), mem=\(s.config.memBytes / 1024)K) ok
              \(s.events) events in \(s.ticks) ticks, \(formatRate(s.eventsPerSecond)) events/s
              peak usage \(formatFixed(s.peakUsagePct, 1)) %, max frag_index \(formatFixed(s.maxFragIndex, 3)), OOM \(s.oom)
              peak RSS \(formatFixed(Double(peakRSSKiB()) / 1024, 1)) MiB
            """
    }
}

/// Writes a line to standard error (unbuffered, straight to fd 2).
func printError(_ message: String) {
    let line = message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

func formatRate(_ v: Double) -> String {
    if v >= 1e6 { return formatFixed(v / 1e6, 2) + " M" }
    if v >= 1e3 { return formatFixed(v / 1e3, 1) + " k" }
    return formatFixed(v, 0)
}

/// SIGINT and SIGTERM stop the work cleanly: the replay loop and the trace
/// readers see ``Interruption`` and throw, the run is marked failed, and the
/// command exits non-zero. A second signal kills at once, as users expect
/// from a second Ctrl-C.
///
/// The handler is installed with `sigaction` and without `SA_RESTART`, so a
/// `read` blocked on a stalled pipe or FIFO returns `EINTR` instead of
/// waiting on; `signal()` would restart it, and the replay would go on
/// waiting for data and then finish `ok`.
func installInterruptHandlers() {
    // A parent may have started us with these signals blocked.
    var unblock = sigset_t()
    sigemptyset(&unblock)
    sigaddset(&unblock, SIGINT)
    sigaddset(&unblock, SIGTERM)
    sigprocmask(SIG_UNBLOCK, &unblock, nil)
    for sig in [SIGINT, SIGTERM] {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { s in
            if Interruption.requested != 0 {
                var fallback = sigaction()
                fallback.__sigaction_handler.sa_handler = SIG_DFL
                sigaction(s, &fallback, nil)
                raise(s)  // delivered once the handler returns
                return
            }
            Interruption.request(signal: s)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(sig, &action, nil)
    }
}

/// Exits with status 1 if a signal asked to stop, even when the work it
/// interrupted happened to finish: the caller asked for it not to.
func exitIfInterrupted() throws {
    if Interruption.requested != 0 {
        printError("memreplay: \(Interruption.message)")
        throw ExitCode(1)
    }
}

/// Opens the results database, or exits with status 2 and the reason before
/// any replay work starts.
func openResults(_ path: String) throws -> ResultStore {
    do {
        return try ResultStore(path: path)
    } catch {
        printError("memreplay: \(error)")
        throw ExitCode(2)
    }
}
