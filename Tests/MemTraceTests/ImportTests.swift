import Foundation
import Testing
import MemModel
@testable import MemTrace

/// The importers on small excerpts of real recordings (mtrace of python3,
/// lackey of /bin/ls, trace_pipe and perf script text), noise included.
@Suite struct ImportTests {
    struct Imported {
        /// Every line after the header and the import comment.
        var body: [String]
        /// Statement lines only (comments dropped).
        var statements: [String] { body.filter { !$0.hasPrefix("#") } }
        var report: ImportReport
        var text: String
        var path: String
    }

    /// Imports `text` (read in `chunk`-byte pieces) to a temporary trace file.
    func imported(_ format: ImportFormat, _ text: String, name: String = "rec.txt",
                  tickEvery: Int = 0, tickMs: Int = 10, reorderMs: Int = 1000, chunk: Int = .max,
                  numbering: MigrateTypeNumbering = .linux44) throws -> Imported {
        let dir = try makeTempDirectory()
        let path = dir.appendingPathComponent("out.trace").path
        let report: ImportReport
        do {
            let w = try TraceWriter(path: path)
            report = try Importer.run(format, name: name, open: { MemorySource(text, chunk: chunk) }, to: w,
                                      options: ImportOptions(tickEvery: tickEvery, tickMs: tickMs, reorderMs: reorderMs,
                                                             migrateTypeNumbering: numbering))
        }
        let out = try String(contentsOfFile: path, encoding: .utf8)
        var lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "memtrace 1")
        #expect(lines.count >= 2 && lines[1] == "# imported from \(format.rawValue) recording \(name) by memreplay import")
        #expect(lines.last == "")
        lines.removeFirst(2)
        lines.removeLast()
        // Whatever an importer writes must parse.
        _ = try readAll(out)
        return Imported(body: lines, report: report, text: out, path: path)
    }

    func importError(_ format: ImportFormat, _ text: String, name: String) -> TraceError? {
        do {
            _ = try imported(format, text, name: name)
            return nil
        } catch let e as TraceError {
            return e
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    /// Replays a trace file on a machine large enough that paging never fails.
    func replay(_ path: String, tlb: String = "64:4") throws -> (summary: ReplaySummary, sink: RecordingSink) {
        var options = ReplayOptions()
        options.machine.memBytes = 256 << 20
        options.machine.tlb = try TLBSpec(parsing: tlb)
        options.machine.checkEvery = 1000
        var sink = RecordingSink()
        let summary = try Replayer.run(path: path, options: options, sink: &sink)
        return (summary, sink)
    }

    // MARK: mtrace

    /// From `python3` under mtrace (PYTHONMALLOC=malloc), plus the forms it
    /// did not happen to print: a bare `[addr]` caller, no caller at all, a
    /// failed malloc and a failed realloc.
    static let mtraceExcerpt = """
        = Start
        @ /usr/bin/python3:(PyThread_allocate_lock+2a)[0xf71ba] + 0x263624a0 0x20
        @ /lib/x86_64-linux-gnu/libc.so.6:[0x39221] + 0x26362530 0x5
        @ /lib/x86_64-linux-gnu/libc.so.6:[0x33bcd] - 0x26362530
        @ /lib/x86_64-linux-gnu/libc.so.6:[0x38896] + 0x26363d90 0x400
        @ /lib/x86_64-linux-gnu/libc.so.6:[0x38896] < 0x26363d90
        @ /lib/x86_64-linux-gnu/libc.so.6:[0x38896] > 0x26363d90 0x800
        @ /usr/bin/python3:(PyList_Append+97)[0x1107e7] < 0x263c2c30
        @ /usr/bin/python3:(PyList_Append+97)[0x1107e7] > 0x263c2d70 0x40
        @ [0x7f3a1c2b4d5e] + 0x263c2e00 0
        @ ./prog:(grow+1c)[0x401136] ! 0x263c2d70 0x100000000
        @ ./prog:[0x401200] + (nil) 0xffffffffffff
        @ [0x7f3a1c2b4d5e] + 0x263624a0 0x18
        + 0x263c2f00 0x10
        @ /lib/x86_64-linux-gnu/libc.so.6:(__libc_freeres+a4)[0x17aa44] - 0x263c2d70
        @ /lib/x86_64-linux-gnu/libc.so.6:(__libc_freeres+a4)[0x17aa44] - 0x12345678
        = End

        """

    @Test(arguments: [Int.max, 7])
    func mtraceStatements(chunk: Int) throws {
        let r = try imported(.mtrace, Self.mtraceExcerpt, chunk: chunk)
        #expect(r.body == [
            "kmalloc m263624a0 32 site=0xf71ba",   // the caller's [ADDR]
            "kmalloc m26362530 5 site=0x39221",
            "kfree m26362530",
            "kmalloc m26363d90 1024 site=0x38896",
            "kfree m26363d90",                       // realloc: the old block …
            "kmalloc m26363d90 2048 site=0x38896",   // … and the new one, in place
            "kmalloc m263c2d70 64 site=0x1107e7",    // its old block 0x263c2c30 was never seen
            "kmalloc m263c2e00 1 site=0x7f3a1c2b4d5e",  // malloc(0)
            "kfree m263624a0",                       // + of a live pointer: the lost free first
            "kmalloc m263624a0 24 site=0x7f3a1c2b4d5e",
            "kmalloc m263c2f00 16",   // no caller
            "kfree m263c2d70",
        ])
        #expect(r.report.events == 12)
        #expect(r.report.lines == 17)
        #expect(r.report["unknown frees skipped"] == 2)
        #expect(r.report["frees missing before a reuse, inserted"] == 1)
        #expect(r.report["failed allocations skipped"] == 1)
        #expect(r.report["failed reallocs skipped"] == 1)
        #expect(r.report["zero-size mallocs written as size 1"] == 1)
        #expect(r.report["other lines skipped"] == 0)
        // The result replays: no object is bound twice or freed unbound.
        let (summary, _) = try replay(r.path)
        #expect(summary.events == 12)
    }

    @Test func mtraceTickEveryIsLazy() throws {
        let text = "= Start\n" + (0..<5).map { "@ [0x1] + 0x\(1000 + $0 * 16) 0x8\n" }.joined()
        let r = try imported(.mtrace, text, tickEvery: 2)
        #expect(r.body == ["kmalloc m1000 8 site=0x1", "kmalloc m1016 8 site=0x1", "tick", "kmalloc m1032 8 site=0x1", "kmalloc m1048 8 site=0x1", "tick", "kmalloc m1064 8 site=0x1"])
        #expect(r.report.ticks == 2)
        let four = try imported(.mtrace, "@ [0x1] + 0x10 0x8\n@ [0x1] - 0x10\n@ [0x1] + 0x10 0x8\n@ [0x1] - 0x10\n", tickEvery: 2)
        #expect(four.body == ["kmalloc m10 8 site=0x1", "kfree m10", "tick", "kmalloc m10 8 site=0x1", "kfree m10"])  // no trailing empty tick
    }

    @Test func mtraceErrorsHaveFileAndLine() {
        let missingSize = "= Start\n@ /usr/bin/python3:[0xfc1b3] + 0x263c2d30 0x38\n@ /usr/bin/python3:[0xfc1b3] + 0x263c2d30\n"
        #expect(importError(.mtrace, missingSize, name: "py.mtrace")?.description
                == "py.mtrace:3: mtrace: '+' needs a pointer and a size (+ POINTER SIZE), got '@ /usr/bin/python3:[0xfc1b3] + 0x263c2d30'")
        #expect(importError(.mtrace, "= Start\n@ [0x1] - zz\n", name: "a.mtrace")?.description
                == "a.mtrace:2: mtrace: bad pointer 'zz' (expected 0x and hexadecimal digits, or (nil))")
        #expect(importError(.mtrace, "@ [0x1] 0x10 0x8\n", name: "b.mtrace")?.description
                == "b.mtrace:1: mtrace: no operation (+ - < > !) after the caller in '@ [0x1] 0x10 0x8'")
        #expect(importError(.mtrace, "@ [0x1] + 0x10 0x8 junk\n", name: "c.mtrace")?.description
                == "c.mtrace:1: mtrace: unexpected 'junk' after + POINTER SIZE")
    }

    // MARK: lackey

    /// From `valgrind --tool=lackey --trace-mem=yes /bin/ls /`: valgrind's
    /// banner and summary, and a line of the program's own output.
    static let lackeyExcerpt = """
        ==22230== Lackey, an example Valgrind tool
        ==22230== Copyright (C) 2002-2017, and GNU GPL'd, by Nicholas Nethercote.
        ==22230== Using Valgrind-3.19.0 and LibVEX; rerun with -h for copyright info
        ==22230== Command: /bin/ls /
        ==22230== 
        I  0401ab70,3
         S 1fff000758,8
        I  0010e1d0,2
         L 04835334,1
         M 04032e58,8
         S 1ffefff360,8
        bin  boot  dev  etc  home  lib
        ==22230== 
        ==22230== Exit code:       0

        """

    @Test(arguments: [Int.max, 5])
    func lackeyStatements(chunk: Int) throws {
        let r = try imported(.lackey, Self.lackeyExcerpt, chunk: chunk)
        #expect(r.statements == [
            "spawn 1",
            "mmap 1 0x10e000 0x10f000 rwx",   // 0x0         -> 0x0
            "mmap 1 0x41a000 0x433000 rwx",   // 0x4000000   -> 0x400000
            "mmap 1 0x835000 0x836000 rwx",   // 0x4800000   -> 0x800000
            "mmap 1 0xfff000 0x1001000 rwx",  // 0x1ffec00000, 0x1fff000000 (adjacent) -> 0xc00000, 0x1000000
            "x 1 0x41ab70",
            "w 1 0x1000758",
            "x 1 0x10e1d0",
            "r 1 0x835334",
            "r 1 0x432e58",
            "w 1 0x432e58",
            "w 1 0xfff360",
        ])
        #expect(r.body.contains("#   chunk 0x1ffec00000 -> 0xc00000 (pages 0x3ff-0x3ff)"))
        #expect(r.report.events == 12)
        #expect(r.report["other lines skipped"] == 8)
        #expect(r.report["4 MiB chunks relocated"] == 5)
        let (summary, _) = try replay(r.path)
        #expect(summary.final.paging.segv == 0)
        #expect(summary.final.tlb.lookups == 7)
        #expect(summary.final.tlb.misses == 6)  // 6 pages, the M's write hits
    }

    @Test func lackeyErrorsHaveFileAndLine() {
        let text = "==1== Command: ls\nI  0401ab70,3\n L 04835334\n"
        #expect(importError(.lackey, text, name: "ls.lackey")?.description
                == "ls.lackey:3: lackey: cannot parse data line ' L 04835334' (expected ' L ADDRESS,SIZE' with a hexadecimal address and a decimal size)")
        #expect(importError(.lackey, "I  04zz,3\n", name: "x.lackey")?.line == 1)
    }

    @Test func lackeyRefusesMoreChunksThanUserSpaceHolds() {
        let text = (0..<769).map { "I  \(String(UInt64($0) << 30 | 0x123, radix: 16)),4\n" }.joined()
        let e = importError(.lackey, text, name: "big.lackey")
        #expect(e?.line == 769)
        #expect(e?.description.hasPrefix("big.lackey:769: lackey: address 0xc000000123 is in a 769th distinct 4 MiB chunk") == true)
        // 768 chunks fit: the last one ends at the top of user space.
        let fits = (0..<768).map { "I  \(String(UInt64($0) << 30 | 0x3FF123, radix: 16)),4\n" }.joined()
        #expect(importError(.lackey, fits, name: "ok.lackey") == nil)
    }

    /// Page identity and set index are kept: low 22 bits as they were,
    /// distinct chunks to distinct user chunks, in address order.
    @Test func lackeyRelocationKeepsPagesAndSetIndex() throws {
        let refs = Self.references(Self.syntheticLackey(accesses: 4000, seed: 7))
        let r = try imported(.lackey, Self.syntheticLackey(accesses: 4000, seed: 7))
        let relocated = r.statements.compactMap { s -> UInt64? in
            let f = s.split(separator: " ")
            guard f.count == 3, ["r", "w", "x"].contains(f[0]) else { return nil }
            return UInt64(f[2].dropFirst(2), radix: 16)
        }
        #expect(relocated.count == refs.count)
        var chunkMap: [UInt64: UInt64] = [:]
        for (original, moved) in zip(refs.map(\.addr), relocated) {
            #expect(original & 0x3F_FFFF == moved & 0x3F_FFFF)
            #expect(moved < 0xC000_0000)
            if let m = chunkMap[original >> 22] { #expect(m == moved >> 22) }
            chunkMap[original >> 22] = moved >> 22
        }
        let sorted = chunkMap.keys.sorted()
        #expect(sorted.map { chunkMap[$0]! } == Array(0..<UInt64(sorted.count)))
        #expect(sorted.count >= 6)
    }

    @Test func lackeyRegionsCoverEveryTouchedPageInSixteen() throws {
        // 40 chunks, none adjacent, each touched at a few pages.
        var chunks: [LackeyImporter.Chunk] = []
        for i in 0..<40 {
            chunks.append(.init(original: UInt64(i) * 3 + 5, low: UInt16(i * 7 % 900), high: UInt16(i * 7 % 900 + i % 50)))
        }
        let regions = LackeyImporter.regions(chunks)
        #expect(regions.count == 16)
        for (a, b) in zip(regions, regions.dropFirst()) { #expect(a.end <= b.start) }
        for (i, c) in chunks.enumerated() {
            let low = UInt32(i) << 22 | UInt32(c.low) << 12
            let high = UInt32(i) << 22 | UInt32(c.high) << 12
            #expect(regions.contains { $0.start <= low && high < $0.end })
        }
        // As a trace: no access falls outside a region, no region is refused.
        let text = chunks.flatMap { c in
            [c.low, c.high].map { " L \(String(c.original << 22 | UInt64($0) << 12 | 0x10, radix: 16)),8\n" }
        }.joined()
        let r = try imported(.lackey, text)
        let (summary, _) = try replay(r.path)
        #expect(summary.final.paging.segv == 0)
        #expect(summary.final.paging.regionFailures == 0)
        #expect(summary.final.paging.demandFaults == 79)  // chunk 0 is touched at one page twice
    }

    // MARK: lackey: the TLB equals a cache of pages on the original addresses

    /// A lackey-format recording of a program whose pages lie in far-apart
    /// chunks of a 64-bit address space (a binary at 0x108000, the loader at
    /// 0x4000000, libraries at 0x4835000, a stack straddling 0x1fff000000, a
    /// heap at 0x5555_5555_8000, a mapping at 0x7ff0_1234_5000), with
    /// locality: mostly recent pages, sometimes a jump.
    static func syntheticLackey(accesses: Int, seed: UInt64) -> String {
        let bases: [UInt64] = [0x10_8000, 0x400_0000, 0x483_5000, 0x1F_FEFF_8000, 0x5555_5555_8000, 0x7FF0_1234_5000]
        let spans = [24, 40, 60, 16, 90, 30]
        var rng = SplitMix64(seed: seed)
        var recent: [UInt64] = []
        var out = "==42== Lackey, an example Valgrind tool\n"
        for _ in 0..<accesses {
            let page: UInt64
            if !recent.isEmpty && rng.below(10) < 7 {
                page = recent[recent.count - 1 - rng.below(min(recent.count, 12))]
            } else {
                let r = rng.below(bases.count)
                page = (bases[r] >> 12) + UInt64(rng.below(spans[r]))
            }
            recent.append(page)
            if recent.count > 64 { recent.removeFirst() }
            let addr = page << 12 | UInt64(rng.below(4096 - 8))
            let kind = ["I  ", " L ", " S ", " M "][rng.below(4)]
            out += "\(kind)\(String(addr, radix: 16)),\(1 << rng.below(4))\n"
        }
        return out + "==42== Exit code:       0\n"
    }

    /// The references a lackey text makes: `M` is a load then a store.
    static func references(_ text: String) -> [(kind: Character, addr: UInt64)] {
        var refs: [(Character, UInt64)] = []
        for line in text.split(separator: "\n")
        where line.hasPrefix("I  ") || line.hasPrefix(" L ") || line.hasPrefix(" S ") || line.hasPrefix(" M ") {
            let kind = line.first == "I" ? Character("I") : line[line.index(after: line.startIndex)]
            let addr = UInt64(line.dropFirst(3).split(separator: ",")[0].trimmingCharacters(in: .whitespaces), radix: 16)!
            if kind == "M" {
                refs.append(("L", addr))
                refs.append(("S", addr))
            } else {
                refs.append((kind, addr))
            }
        }
        return refs
    }

    /// A trace-driven cache simulator (Dinero-style): 4 KiB blocks, `sets`
    /// sets of `ways` blocks, LRU, keyed by the original 64-bit page number.
    struct ReferenceCache {
        let sets: Int
        let ways: Int
        var lru: [[UInt64]]  // per set, least recently used first
        var misses = 0

        init(sets: Int, ways: Int) {
            self.sets = sets
            self.ways = ways
            lru = Array(repeating: [], count: sets)
        }

        mutating func reference(_ addr: UInt64) {
            let page = addr >> 12
            let s = Int(page & UInt64(sets - 1))
            if let i = lru[s].firstIndex(of: page) {
                lru[s].remove(at: i)
            } else {
                misses += 1
                if lru[s].count == ways { lru[s].removeFirst() }
            }
            lru[s].append(page)
        }
    }

    @Test(arguments: ["64:4", "16:full", "128:2", "4096:4"])
    func lackeyTLBMissesEqualAPageCacheSimulation(spec: String) throws {
        let tlb = try TLBSpec(parsing: spec)
        for text in [Self.lackeyExcerpt, Self.syntheticLackey(accesses: 20_000, seed: 1)] {
            var cache = ReferenceCache(sets: tlb.sets, ways: tlb.ways)
            let refs = Self.references(text)
            for r in refs { cache.reference(r.addr) }

            let r = try imported(.lackey, text, tickEvery: 1000)
            let events = try readAll(r.text)
            #expect(events.filter { if case .spawn = $0 { true } else { false } }.count == 1)
            #expect(!events.contains { if case .switchTo = $0 { true } else { false } })
            let (summary, sink) = try replay(r.path, tlb: spec)
            #expect(sink.ticks.map(\.delta.tlb.lookups).reduce(0, +) == refs.count)
            #expect(sink.ticks.map(\.delta.tlb.misses).reduce(0, +) == cache.misses)
            #expect(summary.final.tlb.flushes <= 1)  // PID 0 -> 1, of an empty TLB
            #expect(summary.final.paging.segv == 0)
            #expect(summary.oom == 0)
        }
    }

    // MARK: ftrace

    /// trace_pipe text (headers of the `trace` file, a lost-events marker,
    /// task names with spaces and colons, old decimal and new hex pfn,
    /// kmem_cache_alloc with and without name=) and one perf script line.
    static let ftraceExcerpt = """
        # tracer: nop
        #
        # entries-in-buffer/entries-written: 24/24   #P:4
        #
        #                                _-----=> irqs-off/BH-disabled
        #           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
        #              | |         |   |||||     |         |
        kworker/u8:2-1234    [001] d..1.  5123.456789: mm_page_alloc: page=00000000c1d6ba23 pfn=0x11a39e order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE
         Web Content-4242    [000] .....  5123.456800: kmalloc: call_site=__alloc_skb+0x8e/0x1d0 ptr=00000000b3c1e2aa bytes_req=640 bytes_alloc=1024 gfp_flags=GFP_KERNEL|__GFP_NOWARN node=-1 accounted=false
         Web Content-4242    [000] .....  5123.456810: kmem_cache_alloc: call_site=__d_alloc+0x2b/0x1d0 ptr=000000004c2f7d10 name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL|__GFP_RECLAIMABLE node=-1 accounted=true
         py 3.11: worker-777 [003] .....  5123.466900: kmem_cache_alloc: call_site=alloc_inode+0x5e/0xa0 [ext4] ptr=00000000aa11bb22 bytes_req=600 bytes_alloc=640 gfp_flags=GFP_KERNEL node=-1 accounted=false
                   <...>-88      [002] d..2.  5123.470001: mm_page_alloc: page=ffffea0004a3c000 pfn=305344 order=2 migratetype=0 gfp_flags=GFP_KERNEL|__GFP_COMP
              kswapd0-88      [002] .....  5123.480000: mm_vmscan_kswapd_wake: nid=0 order=0
        CPU:2 [LOST 42 EVENTS]
        kworker/u8:2-1234    [001] d..2.  5123.481000: sched_switch: prev_comm=kworker/u8:2 prev_pid=1234 prev_prio=120 prev_state=I ==> next_comm=swapper/1 next_pid=0 next_prio=120
         Web Content-4242    [000] .....  5123.490000: kfree: call_site=kfree_skbmem+0x5a/0xa0 ptr=00000000b3c1e2aa
                   bash-1200    [002] .....  5123.491000: kmem_cache_free: call_site=dput+0x1c2/0x300 ptr=000000004c2f7d10 name=dentry
                   bash-1200    [002] .....  5123.491500: kfree: call_site=dput+0x1c2/0x300 ptr=0000000000000000
                   bash-1200    [002] .....  5123.492000: kmem_cache_free: call_site=evict+0x1b0/0x1c0 ptr=00000000deadbeef name=inode_cache
              kswapd0-88      [002] .....  5123.500000: mm_page_free: page=ffffea0004a3c000 pfn=305344 order=0
              kswapd0-88      [002] .....  5123.500100: mm_page_free: page=00000000c1d6ba23 pfn=0x11a39e order=0
              kswapd0-88      [002] .....  5123.500200: mm_page_free: page=00000000c1d6ba29 pfn=0x11a3a0 order=0
              kswapd0-88      [002] .....  5123.510000: mm_vmscan_kswapd_sleep: nid=0
                   bash  1200 [002]  5123.520000: kmem:kmalloc: call_site=ffffffff8123abcd ptr=0xffff8881c3a4e0c0 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL
         Web Content-4242    [000] .....  5123.530000: kmem_cache_alloc: call_site=__d_alloc+0x2b/0x1d0 ptr=000000004c2f7d11 name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=true
         Web Content-4242    [000] .....  5123.530001: kmem_cache_alloc: call_site=__d_alloc+0x2b/0x1d0 ptr=000000004c2f7d11 name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=true
         Web Content-4242    [000] .....  5123.530002: mm_page_alloc: page=0000000000000000 pfn=0xffffffffffffffff order=3 migratetype=0 gfp_flags=GFP_KERNEL|__GFP_NORETRY
                 python3-900   [001] .....  5123.530003: mm_page_alloc: page=(null) pfn=0 order=0 migratetype=0 gfp_flags=GFP_KERNEL

        """

    /// `migratetype=` as each numbering reads it (`include/linux/mmzone.h`
    /// of 3.6 and of 4.4): unmovable is the default and not written; 3 and
    /// up are counted and taken as unmovable.
    @Test(arguments: [(MigrateTypeNumbering.linux44, ["movable", "reclaimable"]), (.linux2624, ["reclaimable", "movable"])])
    func ftraceMigrateTypes(numbering: MigrateTypeNumbering, words: [String]) throws {
        let text = (0...4).map { "x-1 [000] .... 1.\($0): mm_page_alloc: page=1 pfn=\($0 + 16) order=0 migratetype=\($0) gfp_flags=X\n" }.joined()
        let r = try imported(.ftrace, text, tickMs: 0, numbering: numbering)
        #expect(r.body == ["palloc p10 1", "palloc p11 1 \(words[0])", "palloc p12 1 \(words[1])", "palloc p13 1", "palloc p14 1"])
        #expect(r.report["page allocations of migrate type 3 or more, taken as unmovable"] == 2)
    }

    @Test(arguments: ["abc", "-1", "2.0", "", "99999999999999999999"])
    func ftraceBadMigrateTypeIsAnError(value: String) {
        let line = "x-1 [000] .... 1.5: mm_page_alloc: page=1 pfn=12 order=0 migratetype=\(value) gfp_flags=X\n"
        #expect(importError(.ftrace, line, name: "m.txt")?.description
                == "m.txt:1: ftrace: mm_page_alloc: bad migratetype '\(value)' (expected a number)")
    }

    @Test(arguments: [Int.max, 13])
    func ftraceStatements(chunk: Int) throws {
        let r = try imported(.ftrace, Self.ftraceExcerpt, chunk: chunk)
        #expect(r.body == [
            "tick 512345",
            "palloc p11a39e 1 movable",  // 4.4's numbering: 1 is MOVABLE
            // A symbolic call site gets a made-up address, announced once.
            "# site 0x3804891c5d3546b7 is __alloc_skb+0x8e/0x1d0",
            "kmalloc ob3c1e2aa 640 site=0x3804891c5d3546b7 alloc=1024",
            "cache dentry 192",
            "# site 0x19fa85ba7bbab9d0 is __d_alloc+0x2b/0x1d0",
            "salloc dentry o4c2f7d10 site=0x19fa85ba7bbab9d0 alloc=192",
            "tick 512346",
            "cache slab-600 600",  // no name=: named by the object size asked for (bytes_req)
            "# site 0x4ae94600760bf5d7 is alloc_inode+0x5e/0xa0",
            "salloc slab-600 oaa11bb22 site=0x4ae94600760bf5d7 alloc=640",
            "tick 512347",
            "palloc p4a8c0 4",     // decimal pfn 305344, order 2
            "tick 512348",
            "# kswapd_wake nid=0 order=0 at 5123.480000",
            "tick 512349",
            "kfree ob3c1e2aa",
            "sfree dentry o4c2f7d10",
            "tick 512350",
            "pfree p4a8c0",        // freed as order 0: the alloc's binding goes
            "pfree p11a39e",
            "tick 512351",
            "# kswapd_sleep nid=0 at 5123.510000",
            "tick 512352",
            "kmalloc offff8881c3a4e0c0 100 site=0xffffffff8123abcd alloc=128",  // an address call site
            "tick 512353",
            "salloc dentry o4c2f7d11 site=0x19fa85ba7bbab9d0 alloc=192",
            "sfree dentry o4c2f7d11",  // allocated again while live: the lost free first
            "salloc dentry o4c2f7d11 site=0x19fa85ba7bbab9d0 alloc=192",
        ])
        #expect(r.report["frees of NULL skipped"] == 1)
        #expect(r.report.events == 15)
        #expect(r.report.ticks == 9)
        #expect(r.report["unknown frees skipped"] == 2)
        #expect(r.report["frees missing before a reuse, inserted"] == 1)
        #expect(r.report["failed allocations skipped"] == 2)
        #expect(r.report["page frees of another order than the alloc"] == 1)
        #expect(r.report["other events skipped"] == 1)
        #expect(r.report["other lines skipped"] == 8)
        let (summary, sink) = try replay(r.path)
        #expect(summary.events == 15)
        #expect(sink.ticks.map(\.tick) == [0] + Array(512345...512353))
    }

    /// Per-CPU buffers concatenated: CPU 1's events come after CPU 0's
    /// although some are older. Within the reorder window they are written
    /// in timestamp order (the free after its allocation); with no window
    /// (`--reorder-ms 0`) the free comes first, of a pointer not yet seen.
    @Test func ftraceEventsOutOfTimestampOrderAreSorted() throws {
        let text = """
            a-1 [000] ..... 10.000000: kmalloc: call_site=0xc1000000 ptr=00000000aaaa0000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL
            a-1 [000] ..... 10.000300: kfree: call_site=0xc1000001 ptr=00000000bbbb0000
            b-2 [001] ..... 10.000100: kmalloc: call_site=0xc1000000 ptr=00000000bbbb0000 bytes_req=16 bytes_alloc=16 gfp_flags=GFP_KERNEL
            b-2 [001] ..... 10.000200: kfree: call_site=0xc1000001 ptr=00000000aaaa0000
            b-2 [001] ..... 12.000000: kfree: call_site=0xc1000001 ptr=00000000cccc0000
            a-1 [000] ..... 10.000250: kmalloc: call_site=0xc1000000 ptr=00000000cccc0000 bytes_req=8 bytes_alloc=8 gfp_flags=GFP_KERNEL

            """
        let sorted = try imported(.ftrace, text, tickMs: 0)
        #expect(sorted.body == [
            "kmalloc oaaaa0000 8 site=0xc1000000 alloc=8",
            "kmalloc obbbb0000 16 site=0xc1000000 alloc=16",
            "kfree oaaaa0000",
            "kfree obbbb0000",
            // Read after 12.000000 flushed everything up to 11.000000: older
            // than what was written (10.000300), so taken as it came …
            "kmalloc occcc0000 8 site=0xc1000000 alloc=8",
            // … and still before its free, which the window held.
            "kfree occcc0000",
        ])
        #expect(sorted.report["events more than --reorder-ms late, taken as they came"] == 1)
        #expect(sorted.report["unknown frees skipped"] == 0)
        let fileOrder = try imported(.ftrace, text, tickMs: 0, reorderMs: 0)
        #expect(fileOrder.report["unknown frees skipped"] == 2)
    }

    /// `trace-cmd report` output: its header lines are skipped, its event
    /// lines (padded event names, `<idle>` tasks) read like trace_pipe's.
    @Test func traceCmdReport() throws {
        let text = """
            version = 6
            CPU 3 is empty
            cpus=4
                      <idle>-0     [001]  5123.456789: kmalloc:              call_site=0xffffffff81234567 ptr=0xffff888100001000 bytes_req=200 bytes_alloc=256 gfp_flags=GFP_ATOMIC
                        bash-1200  [002]  5123.456900: kfree:                call_site=0xffffffff81234600 ptr=0xffff888100001000

            """
        let r = try imported(.ftrace, text, tickMs: 0)
        #expect(r.body == ["kmalloc offff888100001000 200 site=0xffffffff81234567 alloc=256", "kfree offff888100001000"])
        #expect(r.report["other lines skipped"] == 3)
    }

    @Test func ftraceCacheNames() throws {
        let text = """
            nginx-31 [001] ..... 88.000001: kmem_cache_alloc: call_site=kmalloc_reserve+0x1/0x2 ptr=0000000011112222 name=kmalloc-64 bytes_req=64 bytes_alloc=64 gfp_flags=GFP_ATOMIC node=-1 accounted=false
            nginx-31 [001] ..... 88.000002: kmem_cache_alloc: call_site=kmalloc_reserve+0x1/0x2 ptr=0000000011113333 name=kmalloc-96 bytes_req=96 bytes_alloc=96 gfp_flags=GFP_ATOMIC node=-1 accounted=false
            nginx-31 [001] ..... 88.000003: kmem_cache_alloc: call_site=nf_ct_alloc+0x1/0x2 ptr=0000000011114444 name=nf_conntrack(net) bytes_req=320 bytes_alloc=320 gfp_flags=GFP_ATOMIC node=-1 accounted=false
            nginx-31 [001] ..... 88.000004: kmem_cache_free: call_site=kfree_skb+0x1/0x2 ptr=0000000011112222 name=kmalloc-64
            nginx-31 [001] ..... 88.000005: kfree: call_site=nf_ct_free+0x1/0x2 ptr=0000000011114444

            """
        let r = try imported(.ftrace, text, tickMs: 0)
        #expect(r.body == [
            "# site 0x1566fc155ded48e0 is kmalloc_reserve+0x1/0x2",
            "salloc kmalloc-64 o11112222 site=0x1566fc155ded48e0 alloc=64",  // a boot-time cache of the model: not declared again
            "cache kmalloc-96 96",
            "salloc kmalloc-96 o11113333 site=0x1566fc155ded48e0 alloc=96",
            "cache nf_conntrack_net_ 320",
            "# site 0x7200ae4aa7d12aa is nf_ct_alloc+0x1/0x2",
            "salloc nf_conntrack_net_ o11114444 site=0x7200ae4aa7d12aa alloc=320",
            "sfree kmalloc-64 o11112222",
            "sfree nf_conntrack_net_ o11114444",  // kfree of a cache object frees it from its cache
        ])
        _ = try replay(r.path)
    }

    @Test func ftraceWithoutTimeTicks() throws {
        let r = try imported(.ftrace, Self.ftraceExcerpt, tickMs: 0)
        #expect(!r.body.contains { $0.hasPrefix("tick") })
        #expect(r.report.events == 15)
        let coarse = try imported(.ftrace, Self.ftraceExcerpt, tickMs: 1000)  // one tick: 5123 s
        #expect(coarse.body.filter { $0.hasPrefix("tick") } == ["tick 5123"])
    }

    @Test func ftraceErrorsHaveFileAndLine() {
        let text = """
            # tracer: nop
                      bash-1200    [002] .....  5123.500200: mm_page_free: page=00000000c1d6ba29 order=0

            """
        #expect(importError(.ftrace, text, name: "kmem.txt")?.description
                == "kmem.txt:2: ftrace: mm_page_free without pfn= in '          bash-1200    [002] .....  5123.500200: mm_page_free: page=00000000c1d6ba29 order=0'")
        #expect(importError(.ftrace, "x-1 [000] .... 1.5: kmalloc: ptr=zz bytes_req=8\n", name: "k.txt")?.description
                == "k.txt:1: ftrace: kmalloc: bad ptr 'zz' (expected a hexadecimal pointer)")
        #expect(importError(.ftrace, "x-1 [000] .... 1.5: mm_page_alloc: page=1 pfn=12 order=31\n", name: "o.txt")?.description
                == "o.txt:1: ftrace: mm_page_alloc: order 31 is out of range (0 to 20)")
    }

    @Test func fileInputAndCompressedInput() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let raw = dir.appendingPathComponent("ls.lackey")
        try Self.lackeyExcerpt.write(to: raw, atomically: true, encoding: .utf8)
        let zst = dir.appendingPathComponent("ls.lackey.zst")
        try zstd(raw, to: zst)
        var outputs: [String] = []
        for input in [raw, zst] {
            let out = dir.appendingPathComponent("out.trace").path
            do {
                let w = try TraceWriter(path: out)
                _ = try Importer.run(.lackey, input: input.path, to: w)
            }
            outputs.append(try String(contentsOfFile: out, encoding: .utf8))
        }
        #expect(outputs[0].replacingOccurrences(of: "ls.lackey ", with: "ls.lackey.zst ") == outputs[1])
        #expect(throws: TraceError.self) { try Importer.run(.lackey, input: "-", to: TraceWriter(path: dir.appendingPathComponent("x").path)) }
        #expect(throws: TraceError.self) { try Importer.run(.mtrace, input: dir.appendingPathComponent("missing").path, to: TraceWriter(path: dir.appendingPathComponent("y").path)) }
    }
}
