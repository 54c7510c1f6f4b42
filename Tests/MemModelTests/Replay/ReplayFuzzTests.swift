import Foundation
import Testing
import MemTrace
@testable import MemModel

/// Random traces through parse + replay with every invariant checked after
/// every event: each must end in success or a `TraceError` at a real line —
/// never a trap, never a broken invariant. The statements draw on tiny name
/// and address spaces so that many are valid, many collide (double frees,
/// overlaps, unknown PIDs) and small machines run out of memory.
@Suite struct ReplayFuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["MEMREPLAY_REPLAY_FUZZ_ITERATIONS"] ?? "") ?? 600

    static func statement(_ rng: inout SplitMix64) -> String {
        func pick(_ xs: [String]) -> String { xs[rng.below(xs.count)] }
        let pid = String(rng.below(6))
        let page = { (r: inout SplitMix64) -> String in
            let bases: [UInt32] = [0x1000, 0x10000, 0x400000, 0x40000000, 0xBFFF0000, 0xC0000000, 0xFFC00000]
            return "0x" + String(bases[r.below(bases.count)] + UInt32(r.below(4)) * 0x1000, radix: 16)
        }
        switch rng.below(22) {
        case 0: return "palloc h\(rng.below(8))" + (rng.below(3) == 0 ? " \(1 + rng.below(40))" : "")
        case 1: return "pfree h\(rng.below(8))"
        case 2: return "spawn \(pid)" + (rng.below(4) == 0 ? " node=\(rng.below(2))" : "")
        case 3: return "fork \(pid) \(rng.below(6))"
        case 4: return "exit \(pid)"
        case 5: return "switch \(pid)"
        case 6:
            let start = rng.below(4) * 0x4000 + (rng.below(2) == 0 ? 0x10000 : 0x40000000)
            let end = start + (1 + rng.below(4)) * 0x1000
            return "mmap \(pid) 0x\(String(start, radix: 16)) 0x\(String(end, radix: 16)) \(pick(["r", "rw", "rx", "rwx", "w"]))"
                + (rng.below(3) == 0 ? " shared=s\(rng.below(2))" : "")
        case 7: return "munmap \(pid) 0x\(String(rng.below(4) * 0x4000 + 0x10000, radix: 16))"
        case 8, 9, 10, 11: return "\(pick(["r", "w", "x"])) \(pid) \(page(&rng))"
        case 12: return "map \(pid) \(page(&rng)) h\(rng.below(8)) \(pick(["r", "rw"]))"
        case 13: return "unmap \(pid) \(page(&rng))"
        case 14: return "cache c\(rng.below(3)) \(pick(["24", "100", "700", "4096", "3000"]))"
        case 15: return "salloc c\(rng.below(3)) o\(rng.below(8))"
        case 16: return "sfree c\(rng.below(3)) o\(rng.below(8))"
        case 17: return "kmalloc o\(rng.below(8)) \(pick(["8", "100", "4096", "5000", "20000"]))"
        case 18: return "kfree o\(rng.below(8))"
        case 19: return "\(pick(["fread", "fwrite"])) f\(rng.below(3)) \(rng.below(20))"
        case 20: return "\(pick(["fsync", "fdrop"])) f\(rng.below(3))"
        default: return rng.below(2) == 0 ? "tick" : "tick \(rng.below(100))"
        }
    }

    /// What the generator believes exists, so most statements are valid.
    struct World {
        var pids: Set<Int> = [0]
        var regions: [Int: [Int]] = [:]  // pid -> region slot numbers in use
        var handles: Set<Int> = []
        var caches: Set<Int> = []
        var objects: [Int: Int] = [:]   // object -> cache (-1: kmalloc)
        var files: Set<Int> = []
        var segmentPages: [Int: Int] = [:]

        mutating func valid(_ rng: inout SplitMix64) -> String? {
            func any<T>(_ s: Set<T>) -> T? { s.isEmpty ? nil : Array(s)[rng.below(s.count)] }
            switch rng.below(16) {
            case 0:
                let h = rng.below(12)
                guard !handles.contains(h) else { return "pfree h\(h)" + { handles.remove(h); return "" }() }
                handles.insert(h)
                return "palloc h\(h)" + (rng.below(3) == 0 ? " \(1 + rng.below(20))" : "")
            case 1:
                let p = 1 + rng.below(8)
                if pids.contains(p) {
                    guard rng.below(3) == 0 else { return "switch \(p)" }
                    pids.remove(p)
                    regions[p] = nil
                    return "exit \(p)"
                }
                if let parent = any(pids), rng.below(2) == 0 {
                    pids.insert(p)
                    regions[p] = regions[parent]
                    for slot in regions[p] ?? [] where slot >= 8 { segmentPages[slot - 8] = segmentPages[slot - 8] }
                    return "fork \(parent) \(p)"
                }
                pids.insert(p)
                return "spawn \(p)"
            case 2:
                guard let p = any(pids) else { return nil }
                var used = regions[p] ?? []
                let slot = rng.below(10)
                if used.contains(slot) {
                    used.removeAll { $0 == slot }
                    regions[p] = used
                    return "munmap \(p) 0x\(String(0x100000 * (slot + 1), radix: 16))"
                }
                used.append(slot)
                regions[p] = used
                let start = 0x100000 * (slot + 1)
                if slot >= 8 {  // shared segments: fixed length per ID
                    return "mmap \(p) 0x\(String(start, radix: 16)) 0x\(String(start + 0x4000, radix: 16)) rw shared=s\(slot - 8)"
                }
                let pages = 1 + (slot % 4)
                return "mmap \(p) 0x\(String(start, radix: 16)) 0x\(String(start + pages * 0x1000, radix: 16)) \(["r", "rw", "rx", "rwx"][slot % 4])"
            case 3, 4, 5, 6, 7:
                guard let p = any(pids) else { return nil }
                let slot = rng.below(10)
                let va = 0x100000 * (slot + 1) + rng.below(5) * 0x1000 + rng.below(4096)
                return "\(["r", "w", "x", "w"][rng.below(4)]) \(p) 0x\(String(va, radix: 16))"
            case 8:
                guard let p = any(pids), let h = any(handles) else { return nil }
                let va = rng.below(2) == 0 ? 0xC0000000 + rng.below(4) * 0x1000 : 0x20000000 + rng.below(4) * 0x1000
                if rng.below(2) == 0 { return "unmap \(p) 0x\(String(va, radix: 16))" }
                return "map \(p) 0x\(String(va, radix: 16)) h\(h) rw"
            case 9:
                let c = rng.below(4)
                guard !caches.contains(c) else { return nil }
                caches.insert(c)
                return "cache c\(c) \([24, 700, 3000, 4096][c])"
            case 10, 11:
                let o = rng.below(16)
                if let c = objects[o] {
                    objects[o] = nil
                    return c < 0 ? "kfree o\(o)" : "sfree c\(c) o\(o)"
                }
                if let c = any(caches), rng.below(2) == 0 {
                    objects[o] = c
                    return "salloc c\(c) o\(o)"
                }
                objects[o] = -1
                return "kmalloc o\(o) \([8, 100, 4096, 9000][rng.below(4)])"
            case 12, 13:
                let f = rng.below(3)
                files.insert(f)
                return "\(rng.below(3) == 0 ? "fwrite" : "fread") f\(f) \(rng.below(40))"
            case 14:
                guard let f = any(files) else { return nil }
                if rng.below(3) == 0 {
                    files.remove(f)
                    return "fdrop f\(f)"
                }
                return "fsync f\(f)"
            default:
                return "tick"
            }
        }
    }

    @Test func randomTracesNeverTrapOrBreakInvariants() throws {
        var rng = SplitMix64(seed: UInt64(ProcessInfo.processInfo.environment["MEMREPLAY_FUZZ_SEED"] ?? "") ?? 2026)
        var ok = 0, errors = 0
        for i in 0..<Self.iterations {
            let count = 10 + rng.below(120)
            var lines = ["memtrace 1"]
            if rng.below(2) == 0 { lines.append("mem \(pickMem(&rng))") }
            let numa = rng.below(4) == 0
            if numa { lines.append("nodes 2") }
            var world = World()
            for _ in 0..<count {
                if rng.below(100) < 2 {
                    lines.append(Self.statement(&rng))  // anything at all
                } else if let s = world.valid(&rng) {
                    lines.append(s)
                }
            }
            var options = ReplayOptions()
            options.machine.pmm = pick(FrameAllocatorKind.allCases, &rng)
            options.machine.checkEvery = 1
            options.machine.memBytes = 64 << 10
            options.machine.pageCachePolicy = pick(PageCacheEvictionKind.allCases, &rng)
            options.machine.slab = pick(SlabAllocatorKind.allCases, &rng)
            options.machine.numaPolicy = pick(NumaPolicy.allCases, &rng)
            options.machine.directReclaim = rng.below(4) != 0
            // Every policy of every axis is drawn, so a new variant is fuzzed too;
            // a separate ITLB with its own policy runs the mixed-policy machine.
            let (entries, ways) = pick([(4, 2), (8, 8), (64, 4), (2, 1)], &rng)
            options.machine.tlb = TLBSpec(entries: entries, ways: ways, policy: pick(TLBReplacementKind.allCases, &rng))
            if rng.below(4) == 0 { options.machine.itlb = TLBSpec(entries: 4, ways: 4, policy: pick(TLBReplacementKind.allCases, &rng)) }
            let reader = TraceReader(path: "fuzz\(i).trace", source: MemorySource(lines.joined(separator: "\n") + "\n"))
            var sink = RecordingSink(countOnly: true)
            do {
                _ = try Replayer.run(reader: reader, options: options, sink: &sink)
                ok += 1
            } catch let e as TraceError {
                errors += 1
                #expect(e.line >= 1 && e.line <= lines.count + 1, "input \(i): \(e)")
                #expect(!e.message.contains("invariant broken"), "input \(i): \(e)\n\(lines.joined(separator: "\n"))")
            }
        }
        #expect(ok + errors == Self.iterations)
        #expect(ok > Self.iterations / 5, "too few inputs replayed to the end to exercise the model (\(ok) of \(Self.iterations))")
    }

    func pick<T>(_ choices: [T], _ rng: inout SplitMix64) -> T { choices[rng.below(choices.count)] }

    func pickMem(_ rng: inout SplitMix64) -> String { ["16K", "64K", "256K", "1M"][rng.below(4)] }
}
