/// Deterministic synthetic workloads, for benchmarks and stress tests.
///
/// Every generated trace is valid on any machine size and allocator: the
/// generators never free what they did not allocate, never overlap regions
/// and stay within 16 regions per process, so out-of-memory outcomes (which
/// differ between variants) never turn into trace errors.
public enum Workload: String, CaseIterable, Sendable {
    /// Mostly `r`/`w`/`x` by a few processes: hot working sets, streams, code.
    case access
    /// A server that forks short-lived workers which write to their copy-on-write heap.
    case forkserver
    /// Sequential reads of large files: page-cache pressure and kswapd reclaim.
    case filescan
    /// Many slab caches and kmalloc sizes with mixed object lifetimes.
    case slabchurn
    /// Contiguous allocations interleaved with long-lived single frames.
    case fragmenter
    /// All of the above interleaved.
    case mixed
    /// One program as valgrind's lackey records it.
    case lackey
    /// The LLFree paper's fragmentation benchmark: memory 90 % filled with
    /// movable pages, half freed at random, then rounds of random 10 % frees
    /// and reallocations, one tick per round.
    case llfreeFrag = "llfree-frag"

    public var summary: String {
        switch self {
        case .access: "mostly memory accesses by 4 processes (TLB, demand paging)"
        case .forkserver: "spawn/fork/COW/exit churn of a forking server"
        case .filescan: "page-cache pressure and reclaim from file scans"
        case .slabchurn: "slab caches and kmalloc with mixed lifetimes"
        case .fragmenter: "contiguous allocations among long-lived single frames"
        case .mixed: "every kind of statement interleaved"
        case .lackey: "one program as valgrind lackey records it: instruction fetches, stack and heap data"
        case .llfreeFrag: "LLFree's fragmentation benchmark: fill 90 % with movable pages, free half, then --iterations rounds of 10 % frees and reallocations (its size is --mem, not --events)"
        }
    }
}

/// Writes `events` event statements of `workload` (plus header, directives,
/// ticks); `llfree-frag` is sized by `memory` and `iterations`, and stops
/// early if that takes more than `events`.
public func generate(_ workload: Workload, events: Int, seed: UInt64, to w: TraceWriter,
                     memory: UInt64 = 1 << 30, iterations: Int = 100) throws(SourceError) {
    var g = Generator(w: w, rng: SplitMix64(seed: seed), budget: events)
    g.memory = memory
    g.iterations = iterations
    try g.run(workload)
    try w.flush()
}

struct Generator {
    let w: TraceWriter
    var rng: SplitMix64
    var budget: Int
    var emitted = 0
    var sinceTick = 0
    var tickEvery = 1000
    var nextName = 0
    /// `llfree-frag`'s machine size and rounds.
    var memory: UInt64 = 1 << 30
    var iterations = 100

    var done: Bool { emitted >= budget }

    mutating func event() throws(SourceError) {
        try w.newline()
        emitted += 1
        sinceTick += 1
        if sinceTick >= tickEvery && !done {
            try w.line("tick")
            sinceTick = 0
        }
    }

    mutating func name(_ prefix: String) -> String {
        nextName += 1
        return prefix + String(nextName, radix: 36)
    }

    mutating func access(_ kind: UInt8, _ pid: Int, _ addr: UInt64) throws(SourceError) {
        try w.byte(kind)
        try w.byte(0x20)
        try w.decimal(pid)
        try w.byte(0x20)
        try w.hex(addr)
        try event()
    }

    mutating func statement(_ words: String...) throws(SourceError) {
        try w.text(words.joined(separator: " "))
        try event()
    }

    // MARK: Processes with a text, heap and stack

    static let text: UInt64 = 0x0804_8000, textPages: UInt64 = 256
    static let heap: UInt64 = 0x1000_0000, heapPages: UInt64 = 4096
    static let stack: UInt64 = 0xBF00_0000, stackPages: UInt64 = 256

    mutating func spawnProcess(_ pid: Int) throws(SourceError) {
        try statement("spawn", String(pid))
        try mapStandardRegions(pid)
    }

    mutating func mapStandardRegions(_ pid: Int) throws(SourceError) {
        try statement("mmap", String(pid), hexText(Self.text), hexText(Self.text + Self.textPages * 4096), "rx")
        try statement("mmap", String(pid), hexText(Self.heap), hexText(Self.heap + Self.heapPages * 4096), "rw")
        try statement("mmap", String(pid), hexText(Self.stack), hexText(Self.stack + Self.stackPages * 4096), "rw")
    }

    func hexText(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// One access of a typical process: hot set, stream, stack or code.
    mutating func processAccess(_ pid: Int, stream: inout UInt64) throws(SourceError) {
        let roll = rng.below(100)
        let kind: UInt8 = rng.below(10) < 3 ? 0x77 : 0x72  // w or r
        if roll < 60 {
            let page = UInt64(rng.below(48))
            try access(kind, pid, Self.heap + page * 4096 + UInt64(rng.below(4096)))
        } else if roll < 80 {
            stream = (stream + 64) % (Self.heapPages * 4096)
            try access(kind, pid, Self.heap + stream)
        } else if roll < 90 {
            try access(kind, pid, Self.stack + (Self.stackPages - 1 - UInt64(rng.below(8))) * 4096 + UInt64(rng.below(4096)))
        } else {
            try access(0x78, pid, Self.text + UInt64(rng.below(24)) * 4096 + UInt64(rng.below(1024)) * 4)
        }
    }

    // MARK: Workloads

    mutating func run(_ workload: Workload) throws(SourceError) {
        try w.line("memtrace 1")
        if workload == .llfreeFrag {
            try w.line("# generated: memreplay gen llfree-frag --mem \(memory >> 20)M --iterations \(iterations)")
        } else {
            try w.line("# generated: memreplay gen \(workload.rawValue) --events \(budget)")
        }
        switch workload {
        case .access: try access()
        case .forkserver: try forkserver()
        case .filescan: try filescan()
        case .slabchurn: try slabchurn()
        case .fragmenter: try fragmenter()
        case .mixed: try mixed()
        case .lackey: try lackey()
        case .llfreeFrag: try llfreeFrag()
        }
    }

    /// The fragmentation benchmark of the LLFree paper's artifact
    /// (linux-alloc-bench `alloc.c`, `init_frag` and `frag`, run by
    /// llfree-bench `frag_vm.py`), on one core: allocate 90 % of memory as
    /// movable order-0 pages (`GFP_HIGHUSER_MOVABLE`), shuffle them, free
    /// the second half; then each round frees a random 10 % of the pages
    /// kept and allocates the same handles again. Tick 0 ends after the
    /// setup and tick i after round i, so each `tick_metrics` row is the
    /// state the benchmark measures after an iteration (free huge frames:
    /// `free_huge`).
    mutating func llfreeFrag() throws(SourceError) {
        try w.line("mem \(memory >> 20)M")
        tickEvery = .max
        let frames = Int(memory >> 12)
        let n = frames * 90 / 100
        let handles = (0..<n).map { "h" + String($0, radix: 36) }
        for h in handles where !done { try statement("palloc", h, "1", "movable") }
        var slots = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { slots.swapAt(i, rng.below(i + 1)) }
        let kept = n / 2
        for i in slots[kept...] where !done { try statement("pfree", handles[i]) }
        var live = Array(slots[..<kept])
        let rounds = kept * 10 / 100
        for _ in 0..<iterations where !done {
            try w.line("tick")
            for j in 0..<rounds { live.swapAt(j, j + rng.below(live.count - j)) }
            for j in 0..<rounds where !done { try statement("pfree", handles[live[j]]) }
            for j in 0..<rounds where !done { try statement("palloc", handles[live[j]], "1", "movable") }
        }
    }

    /// Shaped like the bundled `ls` recording (73 % `x`, 18 % `r`, 9 % `w`):
    /// an instruction pointer that walks basic blocks of 1–8 instructions
    /// of 1–7 bytes, branching mostly within its page and now and then to
    /// one of a few hot functions; about a third of the instructions touch
    /// data, two thirds of those near the stack pointer, the rest in a heap
    /// working set of 64 pages.
    mutating func lackey() throws(SourceError) {
        try w.line("mem 64M")
        tickEvery = 100_000
        try spawnProcess(1)
        let functions = (0..<12).map { _ in Self.text + UInt64(rng.below(Int(Self.textPages) - 1)) * 4096 + UInt64(rng.below(3072)) }
        var ip = functions[0]
        var sp = Self.stack + Self.stackPages * 4096 - 512
        while !done {
            for _ in 0..<(1 + rng.below(8)) where !done {
                try access(0x78, 1, ip)
                ip += UInt64(1 + rng.below(7))
                if rng.below(100) < 33 && !done {
                    let kind: UInt8 = rng.below(3) == 0 ? 0x77 : 0x72
                    if rng.below(3) < 2 {
                        try access(kind, 1, sp + UInt64(rng.below(64)) * 8)
                    } else {
                        try access(kind, 1, Self.heap + UInt64(rng.below(64)) * 4096 + UInt64(rng.below(512)) * 8)
                    }
                }
            }
            let branch = rng.below(100)
            if branch < 70 {
                // A loop or a short jump, within the page.
                ip = (ip & ~4095) + UInt64(rng.below(4000))
            } else if branch < 95 {
                // A call or a return: another hot function, another frame.
                ip = functions[rng.below(functions.count)]
                sp = Self.stack + Self.stackPages * 4096 - 512 - UInt64(rng.below(16)) * 64
            } else {
                ip = Self.text + UInt64(rng.below(Int(Self.textPages))) * 4096 + UInt64(rng.below(4000))
            }
        }
    }

    mutating func access() throws(SourceError) {
        try w.line("mem 64M")
        tickEvery = 100_000
        for pid in 1...4 where !done { try spawnProcess(pid) }
        var streams: [UInt64] = [0, 0, 0, 0]
        var pid = 1
        while !done {
            if rng.below(5000) == 0 { pid = 1 + rng.below(4) }
            try processAccess(pid, stream: &streams[pid - 1])
        }
    }

    mutating func forkserver() throws(SourceError) {
        try w.line("mem 32M")
        tickEvery = 1000
        try spawnProcess(1)
        var stream: UInt64 = 0
        for _ in 0..<64 where !done {  // the server warms its heap
            try access(0x77, 1, Self.heap + UInt64(rng.below(64)) * 4096)
        }
        var live: [Int] = []
        var nextPID = 2
        while !done {
            if live.count < 8 && rng.below(3) == 0 {
                let child = nextPID
                nextPID = nextPID >= 30_000 ? 2 : nextPID + 1
                try statement("fork", "1", String(child))
                live.append(child)
            } else if !live.isEmpty && rng.below(4) == 0 {
                let i = rng.below(live.count)
                try statement("exit", String(live.remove(at: i)))
            } else if !live.isEmpty {
                let pid = live[rng.below(live.count)]
                for _ in 0..<20 where !done { try processAccess(pid, stream: &stream) }
            } else {
                try processAccess(1, stream: &stream)
            }
        }
    }

    mutating func filescan() throws(SourceError) {
        try w.line("mem 16M")
        tickEvery = 500
        var position = Array(repeating: 0, count: 32)
        var dirty = Array(repeating: false, count: 32)
        var known = Array(repeating: false, count: 32)  // fsync/fdrop need a file seen before
        while !done {
            let f = rng.below(32)
            let file = "file" + String(f)
            let roll = rng.below(100)
            if roll < 85 {
                try statement("fread", file, String(position[f]))
                position[f] = (position[f] + 1) % 2048
                known[f] = true
            } else if roll < 95 {
                try statement("fwrite", file, String(rng.below(2048)))
                dirty[f] = true
                known[f] = true
            } else if roll < 99 {
                if known[f] && (dirty[f] || rng.below(2) == 0) {
                    try statement("fsync", file)
                    dirty[f] = false
                } else {
                    try statement("fread", file, "0")
                    known[f] = true
                }
            } else if known[f] {
                try statement("fdrop", file)
                position[f] = 0
                dirty[f] = false
                known[f] = false
            }
        }
    }

    mutating func slabchurn() throws(SourceError) {
        try w.line("mem 16M")
        tickEvery = 1000
        let sizes = [24, 40, 64, 96, 128, 192, 256, 512, 700, 1024, 2048, 3000]
        for (i, s) in sizes.enumerated() where !done { try statement("cache", "c\(i)", String(s)) }
        var live: [(cache: Int, id: String)] = []  // cache -1: kmalloc
        while !done {
            if live.count < 20_000 && (live.isEmpty || rng.below(100) < 55) {
                let id = name("o")
                if rng.below(3) == 0 {
                    let size = rng.below(20) == 0 ? 4097 + rng.below(12_000) : 1 + rng.below(4096)
                    try statement("kmalloc", id, String(size))
                    live.append((-1, id))
                } else {
                    let c = rng.below(sizes.count)
                    try statement("salloc", "c\(c)", id)
                    live.append((c, id))
                }
            } else {
                // Mostly young objects die (short lifetimes), some old ones too.
                let i = rng.below(4) == 0 ? rng.below(live.count) : max(0, live.count - 1 - rng.below(min(live.count, 64)))
                let o = live.swapRemove(at: i)
                if o.cache < 0 { try statement("kfree", o.id) } else { try statement("sfree", "c\(o.cache)", o.id) }
            }
        }
    }

    mutating func fragmenter() throws(SourceError) {
        try w.line("mem 16M")
        tickEvery = 500
        var pinned: [String] = []
        var transient: [String] = []
        while !done {
            let roll = rng.below(100)
            if roll < 30 && pinned.count < 1500 {
                let h = name("p")
                try statement("palloc", h)
                pinned.append(h)
            } else if roll < 60 && transient.count < 64 {
                let h = name("t")
                try statement("palloc", h, String(1 << (1 + rng.below(6))))
                transient.append(h)
            } else if roll < 90 && !transient.isEmpty {
                try statement("pfree", transient.remove(at: rng.below(transient.count)))
            } else if !pinned.isEmpty {
                try statement("pfree", pinned.swapRemove(at: rng.below(pinned.count)))
            }
        }
    }

    mutating func mixed() throws(SourceError) {
        try w.line("mem 32M")
        tickEvery = 2000
        for pid in 1...3 where !done { try spawnProcess(pid) }
        try statement("cache", "task", "1600", "64")
        try statement("cache", "dentry", "192")
        var streams: [UInt64] = [0, 0, 0, 0]
        var handles: [String] = []
        var objects: [(String, String)] = []
        var kobjects: [String] = []
        var child = 0
        var pid = 1
        var filePos = 0
        var knownFiles = Array(repeating: false, count: 8)
        while !done {
            let roll = rng.below(1000)
            if roll < 700 {
                if rng.below(200) == 0 { pid = 1 + rng.below(3) }  // bursts, as a scheduler gives
                try processAccess(pid, stream: &streams[pid])
            } else if roll < 760 {
                if handles.count < 256 && (handles.isEmpty || rng.below(2) == 0) {
                    let h = name("h")
                    try statement("palloc", h, rng.below(8) == 0 ? String(1 + rng.below(16)) : "1")
                    handles.append(h)
                } else {
                    try statement("pfree", handles.swapRemove(at: rng.below(handles.count)))
                }
            } else if roll < 840 {
                if objects.count < 4096 && (objects.isEmpty || rng.below(2) == 0) {
                    let cache = rng.below(2) == 0 ? "task" : "dentry"
                    let id = name("s")
                    try statement("salloc", cache, id)
                    objects.append((cache, id))
                } else {
                    let o = objects.swapRemove(at: rng.below(objects.count))
                    try statement("sfree", o.0, o.1)
                }
            } else if roll < 880 {
                if kobjects.count < 2048 && (kobjects.isEmpty || rng.below(2) == 0) {
                    let id = name("k")
                    try statement("kmalloc", id, String(1 + rng.below(6000)))
                    kobjects.append(id)
                } else {
                    try statement("kfree", kobjects.swapRemove(at: rng.below(kobjects.count)))
                }
            } else if roll < 996 {
                let f = rng.below(8)
                let file = "f" + String(f)
                if rng.below(10) == 0 {
                    try statement("fwrite", file, String(rng.below(512)))
                    knownFiles[f] = true
                } else if knownFiles[f] && rng.below(50) == 0 {
                    try statement("fsync", file)
                } else {
                    filePos = (filePos + 1) % 4096
                    try statement("fread", file, String(filePos))
                    knownFiles[f] = true
                }
            } else if child == 0 {
                child = 4
                try statement("fork", "1", "4")
            } else {
                for _ in 0..<5 where !done { try access(0x77, child, Self.heap + UInt64(rng.below(48)) * 4096) }
                if !done { try statement("exit", "4") }
                child = 0
            }
        }
    }
}

extension Array {
    /// Removes element `i` in O(1) by moving the last element into its place
    /// (the generators' live sets have no order to keep).
    mutating func swapRemove(at i: Int) -> Element {
        let e = self[i]
        self[i] = self[count - 1]
        removeLast()
        return e
    }
}
