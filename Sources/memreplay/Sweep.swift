import ArgumentParser
import Foundation
import MemModel
import MemStore
import MemTrace

/// `memreplay sweep plan|run`: a job array of (trace, variant) replays that
/// any engine can run — GNU parallel, ssh, a Slurm array — one shard
/// database per job, merged afterwards with `memreplay merge`.
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plan and run sweeps of traces × variants as independent jobs.",
        subcommands: [Plan.self, Run.self]
    )

    /// One line of a plan file.
    struct Job: Codable, Equatable {
        var job: String
        var index: Int
        var trace: String
        var label: String
        /// The variant's own settings, as given (KEY=VALUE).
        var settings: [String: String]
        /// Every setting of the replay, resolved.
        var options: ReplayOptions
        /// The command that runs this job.
        var command: String
    }

    /// A stable id: FNV-1a over the trace and the variant's resolved options,
    /// so the same job gets the same id in every plan.
    static func jobID(trace: String, options: ReplayOptions) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let h = fnv1a(Array(trace.utf8) + [0] + Array(try encoder.encode(options)))
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Why `id` cannot be a job id, or `nil` if it can. An id names its
    /// shard (`SHARDS/ID.db`) and is a word of the job's command, so it is
    /// 1 to 64 letters, digits, `.`, `_` and `-`, and does not start with
    /// `.` (no `..`, no hidden files, no path separators).
    static func jobIDProblem(_ id: String) -> String? {
        let allowed = id.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: ".")
                || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
        guard allowed, (1...64).contains(id.utf8.count), !id.hasPrefix(".") else {
            return "job id \(String(reflecting: id)) must be 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'"
        }
        return nil
    }

    /// A plan file's lines, each checked as if it had come from the command
    /// line: its options as the command-line options are, its id against
    /// the safe alphabet, and neither id nor index used twice. Nothing is
    /// run or written before the whole plan has passed.
    static func readPlan(_ path: String) throws(PlanError) -> [Job] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw PlanError(file: path, line: 0, message: "cannot read the plan: \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        var jobs: [Job] = []
        var lineOfID: [String: Int] = [:], lineOfIndex: [Int: Int] = [:]
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            func problem(_ message: String) -> PlanError { PlanError(file: path, line: n + 1, message: message) }
            let job: Job
            do {
                job = try decoder.decode(Job.self, from: Data(line.utf8))
            } catch {
                throw problem("not a plan line: \(error)")
            }
            if let why = jobIDProblem(job.job) { throw problem(why) }
            if let earlier = lineOfID[job.job] { throw problem("job id \(job.job) is already on line \(earlier)") }
            if let earlier = lineOfIndex[job.index] { throw problem("job index \(job.index) is already on line \(earlier)") }
            do {
                try ReplaySettings.check(job.options)
            } catch {
                throw problem("job \(job.job): \(error.message)")
            }
            lineOfID[job.job] = n + 1
            lineOfIndex[job.index] = n + 1
            jobs.append(job)
        }
        return jobs
    }

    /// A plan line that cannot be run, as `PLAN:LINE: what is wrong`.
    struct PlanError: Error, CustomStringConvertible {
        var file: String
        var line: Int
        var message: String
        var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
    }

    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one JSON line per (trace, variant) job.",
            discussion: """
                The variants are the cross product of the --grid keys (e.g. --grid pmm=bitmap,stack,buddy \
                --grid tlb=64:4,256:8 gives 6), then every --variant LABEL:KEY=VALUE[,...]; with neither, one \
                variant with the common options. Each line holds a stable job id, the trace, the variant's \
                settings, every option (the trace's own directives still apply when it runs), and the \
                command that runs the job.
                """
        )

        @Argument(help: "Trace files.")
        var traces: [String]

        @Option(name: .customLong("grid"), help: ArgumentHelp("KEY=V1,V2,…: one axis of the grid.", valueName: "axis"))
        var grids: [String] = []

        @Option(name: .customLong("variant"), help: ArgumentHelp("LABEL:KEY=VALUE[,KEY=VALUE…] (as for compare).", valueName: "spec"))
        var variants: [String] = []

        @Option(name: [.short, .customLong("output")],
                help: "The plan file (JSON lines), or - for standard output (the commands then name it plan.jsonl).")
        var output: String = "plan.jsonl"

        @Option(help: "Folder of the shard databases named in the commands.")
        var shards: String = "shards"

        @OptionGroup var settings: ReplaySettings

        func specs() throws -> [VariantSpec] {
            var combos: [[(key: String, value: String)]] = [[]]
            for g in grids {
                guard let eq = g.firstIndex(of: "="), eq != g.startIndex else {
                    throw ValidationError("--grid '\(g)': expected KEY=V1,V2,...")
                }
                let key = String(g[..<eq])
                let values = g[g.index(after: eq)...].split(separator: ",").map(String.init)
                guard VariantSpec.keys.contains(key) else {
                    throw ValidationError("--grid '\(g)': unknown key '\(key)'; valid keys: \(VariantSpec.keys.joined(separator: ", "))")
                }
                guard !values.isEmpty else { throw ValidationError("--grid '\(g)': no values") }
                combos = combos.flatMap { c in values.map { c + [(key, $0)] } }
            }
            var out: [VariantSpec] = []
            if !grids.isEmpty {
                for c in combos {
                    let label = c.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                    out.append(try VariantSpec(label: label, settings: c))
                }
            }
            out += try variants.map { try VariantSpec(parsing: $0) }
            if out.isEmpty { out = [try VariantSpec(parsing: "default")] }
            var seen = Set<String>()
            for s in out where !seen.insert(s.label).inserted {
                throw ValidationError("variant label '\(s.label)' appears twice")
            }
            return out
        }

        func run() throws {
            // Checked before any work: absent or a regular file, never a trace.
            let out = try OutputFile(output, inputs: traces)
            let planName = output == "-" ? "plan.jsonl" : output
            let specs = try specs()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var lines: [String] = []
            var index = 0
            for trace in traces {
                for spec in specs {
                    let options = try spec.apply(to: settings)
                    let id = try Sweep.jobID(trace: trace, options: options)
                    // Pasted into a shell: every word quoted (the id needs none).
                    let command = "memreplay sweep run \(shellQuoted(planName)) --job \(id) --db \(shellQuoted("\(shards)/\(id).db"))"
                    let job = Job(job: id, index: index, trace: trace, label: spec.label,
                                  settings: Dictionary(spec.settings.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }),
                                  options: options, command: command)
                    lines.append(String(decoding: try encoder.encode(job), as: UTF8.self))
                    index += 1
                }
            }
            let text = lines.joined(separator: "\n") + "\n"
            do {
                try out.write { path in
                    if path == "-" {
                        FileHandle.standardOutput.write(Data(text.utf8))
                    } else {
                        try text.write(toFile: path, atomically: false, encoding: .utf8)
                    }
                }
            } catch {
                printError("\(output): \((error as? OutputError)?.message ?? error.localizedDescription)")
                throw ExitCode(1)
            }
            let summary = "\(output): \(lines.count) jobs (\(traces.count) traces × \(specs.count) variants)"
            // With -o -, standard output carries the plan itself.
            if output == "-" { printError(summary) } else { print(summary) }
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one job of a plan (or all of them) into shard databases.",
            discussion: """
                With --job or --index (which defaults to $SLURM_ARRAY_TASK_ID), runs that job into --db. \
                A job whose run is already ok in that database is not run again; a failed or killed one is. \
                --job may be repeated: each job then runs into SHARDS/JOB.db, and the jobs of one trace \
                replay together from one decode of it, each variant's model on a thread of its own. \
                With --jobs N, runs every job of the plan on this machine, N variants at a time (the jobs \
                of one trace in groups of up to N, each group from one decode), and prints the merge command.
                """
        )

        @Argument(help: "The plan file.")
        var plan: String

        @Option(help: "The job id to run (repeat to run several; the jobs of one trace share its decode).")
        var job: [String] = []

        @Option(help: "The job index (0-based) to run; defaults to $SLURM_ARRAY_TASK_ID.")
        var index: Int?

        @Option(help: "The shard database for this job.")
        var db: String?

        @Option(help: "Run the whole plan with this many workers.")
        var jobs: Int?

        @Option(help: "Folder of the shard databases (with --jobs).")
        var shards: String = "shards"

        func run() throws {
            let all: [Job]
            do {
                all = try Sweep.readPlan(plan)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            installInterruptHandlers()
            if let workers = jobs {
                try runAll(all, workers: max(1, workers))
                return
            }
            let slurm = ProcessInfo.processInfo.environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init)
            let named = try job.map { id in
                guard let j = all.first(where: { $0.job == id }) else { throw ValidationError("\(plan): no job \(id)") }
                return j
            }
            if named.count > 1 {
                guard db == nil else { throw ValidationError("--db names one job's shard; with several --job each goes to \(shards)/JOB.db") }
                guard Set(job).count == job.count else { throw ValidationError("a job is named twice") }
                try runTogether(named)
                return
            }
            let chosen: Job
            if let j = named.first {
                chosen = j
            } else if let i = index ?? slurm {
                guard let j = all.first(where: { $0.index == i }) else { throw ValidationError("\(plan): no job with index \(i) (0 to \(all.count - 1))") }
                chosen = j
            } else {
                throw ValidationError("name a job: --job ID, --index N, $SLURM_ARRAY_TASK_ID, or --jobs N for all")
            }
            try runOne(chosen, db: db ?? "\(shards)/\(chosen.job).db")
        }

        /// The shard database at `db`, created if need be, unless the job's
        /// run is already ok in it (then `nil`, and it says so).
        func openShard(_ j: Job, db: String) throws -> ResultStore? {
            let folder = (db as NSString).deletingLastPathComponent
            if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            let store = try openResults(db)
            let done = try store.db.scalar("SELECT count(*) FROM runs WHERE sweep_job = ? AND status = 'ok'", [.text(j.job)]) ?? 0
            if done > 0 {
                print("job \(j.job) (\(j.label), \(j.trace)): already done in \(db)")
                return nil
            }
            return store
        }

        func runOne(_ j: Job, db: String) throws {
            guard let store = try openShard(j, db: db) else { return }
            do {
                let o = try ReplayJob.run(trace: j.trace, options: j.options, label: j.label, store: store, sweepJob: j.job)
                print("job \(j.job) (\(j.label), \(j.trace)): run \(o.runID) ok, \(o.summary.events) events")
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            try exitIfInterrupted()
        }

        /// Several jobs, each into `SHARDS/JOB.db`: the jobs of one trace
        /// from one ``SharedDecode`` of it (through ``ComparisonJob``), so
        /// the trace is read and parsed once for all of them; every run's
        /// rows equal those of the job run on its own.
        func runTogether(_ named: [Job]) throws {
            var failed = 0
            var traces: [String] = []
            var byTrace: [String: [Job]] = [:]
            for j in named {
                if byTrace[j.trace] == nil { traces.append(j.trace) }
                byTrace[j.trace, default: []].append(j)
            }
            for trace in traces {
                var pending: [(job: Job, db: String, store: ResultStore)] = []
                for j in byTrace[trace]! {
                    let db = "\(shards)/\(j.job).db"
                    if let store = try openShard(j, db: db) { pending.append((j, db, store)) }
                }
                if pending.count == 1 {
                    do { try runOne(pending[0].job, db: pending[0].db) } catch { failed += 1 }
                    continue
                }
                guard !pending.isEmpty else { continue }
                let runIDs = try pending.map {
                    try $0.store.beginRun(trace: trace, label: $0.job.label, config: $0.job.options.machine, sweepJob: $0.job.job)
                }
                let work = ComparisonJob.Work()
                let variants = pending.map { ComparisonJob.Variant(label: $0.job.label, options: $0.job.options) }
                ComparisonJob.runShared(Array(pending.indices), trace: trace, variants: variants, runIDs: runIDs,
                                        dbs: pending.map(\.db), work: work, progress: nil)
                let errors = work.errors
                for (i, p) in pending.enumerated() {
                    if let message = errors[i] {
                        // The runs that never began are still `running`.
                        try? p.store.failRun(runIDs[i], error: message)
                        printError(message)
                        failed += 1
                    } else {
                        print("job \(p.job.job) (\(p.job.label), \(trace)): run \(runIDs[i]) ok, \(work.events(of: i)) events")
                    }
                }
                try exitIfInterrupted()
            }
            if failed > 0 { throw ExitCode(1) }
        }

        /// Whether the job's shard holds an `ok` run of it.
        func isDone(_ j: Job) -> Bool {
            let db = "\(shards)/\(j.job).db"
            guard FileManager.default.fileExists(atPath: db), let store = try? ResultStore(path: db) else { return false }
            let ok = try? store.db.scalar("SELECT count(*) FROM runs WHERE sweep_job = ? AND status = 'ok'", [.text(j.job)])
            return (ok ?? 0) > 0
        }

        /// Every job of the plan in child processes, `workers` variants at a
        /// time: the jobs of one trace go in groups of up to `workers` to one
        /// child, which replays them from one decode (``runTogether(_:)``);
        /// a child starts when its variants fit beside the running ones.
        ///
        /// The children run in process groups of their own (Foundation's
        /// `Process` puts them there), so a Ctrl-C reaches only this process:
        /// it starts no more jobs, passes the signal on to every running
        /// child (each then records its runs as failed) and waits for them.
        func runAll(_ all: [Job], workers: Int) throws {
            let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            var groups: [[Job]] = []
            var open: [String: Int] = [:]
            for j in all {
                if let g = open[j.trace], groups[g].count < workers {
                    groups[g].append(j)
                } else {
                    open[j.trace] = groups.count
                    groups.append([j])
                }
            }
            var pending = groups[...]
            var running: [(process: Foundation.Process, size: Int)] = []
            var failedGroups = 0, busy = 0
            var forwarded: Int32 = 0
            func reap() {
                while let i = running.firstIndex(where: { !$0.process.isRunning }) {
                    let (p, size) = running.remove(at: i)
                    p.waitUntilExit()
                    busy -= size
                    if p.terminationStatus != 0 { failedGroups += 1 }
                }
            }
            while (!pending.isEmpty && forwarded == 0) || !running.isEmpty {
                if Interruption.requested != 0 && forwarded == 0 {
                    forwarded = Interruption.requested
                    for r in running { kill(r.process.processIdentifier, forwarded) }
                }
                while forwarded == 0, let g = pending.first, running.isEmpty || busy + g.count <= workers {
                    pending.removeFirst()
                    let p = Foundation.Process()
                    p.executableURL = me
                    p.arguments = g.count == 1
                        ? ["sweep", "run", plan, "--job", g[0].job, "--db", "\(shards)/\(g[0].job).db"]
                        : ["sweep", "run", plan, "--shards", shards] + g.flatMap { ["--job", $0.job] }
                    try p.run()
                    running.append((p, g.count))
                    busy += g.count
                }
                usleep(20_000)
                reap()
            }
            let notStarted = pending.reduce(0) { $0 + $1.count }
            // A child reports its failures itself; the count is the shards'.
            let failures = groups.prefix(groups.count - pending.count).joined().filter { !isDone($0) }.count
            if forwarded != 0 {
                printError("memreplay: \(Interruption.message): \(notStarted) of \(all.count) jobs not started, \(failures) failed")
                throw ExitCode(1)
            }
            print("\(all.count) jobs, \(failures) failed; merge with: memreplay merge \(shellQuoted(shards))/*.db -o results.db")
            if failures > 0 || failedGroups > 0 { throw ExitCode(1) }
        }
    }
}
