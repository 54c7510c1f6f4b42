import Testing
import MemTrace
@testable import MemModel

/// Page walks' memory references and the PDE cache (`--pde-cache`), by
/// hand. A walk reads the directory entry (unless the PDE cache holds it)
/// and, when that is present, the PTE: one reference each. Only present
/// directory entries are cached (SDM Vol. 3A §4.10.3.1); `invlpg` empties
/// the running PCID's PDE cache entries and a CR3 load without PCIDs all of
/// them (§4.10.4.1). Scripts run with `--check` after every event, which
/// compares every cached directory entry with the directory.
@Suite struct WalkCacheTests {
    static func machine(pde: String?, pcid: Bool = false) -> MachineConfig {
        config(mem: 4 << 20) { c in
            c.tlb = try! TLBSpec(parsing: "4:full")
            c.pdeCache = pde.map { try! TLBSpec(parsing: $0) }
            c.pcid = pcid
            c.checkEvery = 1
        }
    }

    /// A (no table yet: 1 reference, then the fault makes the table),
    /// B in the same table (2), C in another (no table: 1), D in A's table:
    /// 2 without a PDE cache (6 in all); with one, its directory entry is
    /// cached since B's walk: 1 (5 in all; 1 hit, 3 misses).
    @Test func aCachedDirectoryEntrySavesAReference() throws {
        let text = """
            spawn 1
            mmap 1 0x10000000 0x10004000 rw
            mmap 1 0x10400000 0x10401000 rw
            r 1 0x10000000
            r 1 0x10001000
            r 1 0x10400000
            r 1 0x10002000
            r 1 0x10000004

            """
        let without = try script(StackAllocator.self, Self.machine(pde: nil), text).totals.tlb
        #expect((without.misses, without.walkRefs, without.pdeCacheHits, without.pdeCacheMisses) == (4, 6, 0, 0))
        let with = try script(StackAllocator.self, Self.machine(pde: "4:full"), text).totals.tlb
        #expect((with.misses, with.walkRefs, with.pdeCacheHits, with.pdeCacheMisses) == (4, 5, 1, 3))
    }

    /// munmap's `invlpg` empties the PDE cache: the walk of 0x10002000
    /// after it reads the directory entry again (2 references, not 1).
    /// Walks: 1 + 2 + 1 + 2 = 6 references, 4 PDE cache misses.
    @Test func invlpgEmptiesThePDECache() throws {
        let s = try script(StackAllocator.self, Self.machine(pde: "4:full"), """
            spawn 1
            mmap 1 0x10000000 0x10003000 rw
            mmap 1 0x20000000 0x20001000 rw
            r 1 0x10000000
            r 1 0x10001000
            r 1 0x20000000
            munmap 1 0x20000000
            r 1 0x10002000

            """)
        let t = s.totals.tlb
        #expect((t.walkRefs, t.pdeCacheHits, t.pdeCacheMisses) == (6, 0, 4))
    }

    /// Two processes at the same addresses. Without PCIDs the switch back
    /// to 1 empties the PDE cache: its last walk reads both entries (6
    /// references, 4 misses). With PCIDs 1's cached directory entry is
    /// still there under its tag: 1 reference (5, 1 hit, 3 misses).
    @Test func pcidsKeepDirectoryEntriesAcrossSwitches() throws {
        let text = """
            spawn 1
            spawn 2
            mmap 1 0x10000000 0x10003000 rw
            mmap 2 0x10000000 0x10003000 rw
            r 1 0x10000000
            r 1 0x10001000
            r 2 0x10000000
            r 1 0x10002000

            """
        let without = try script(StackAllocator.self, Self.machine(pde: "4:full"), text).totals.tlb
        #expect((without.walkRefs, without.pdeCacheHits, without.pdeCacheMisses) == (6, 0, 4))
        let with = try script(StackAllocator.self, Self.machine(pde: "4:full", pcid: true), text).totals.tlb
        #expect((with.walkRefs, with.pdeCacheHits, with.pdeCacheMisses) == (5, 1, 3))
    }

    /// A directory entry cleared while its process is switched out (its
    /// last region unmapped, the table freed) under PCIDs: the tag is
    /// behind, and the switch back flushes it, PDE cache included (`--check`
    /// would find the cached entry pointing at the freed table). The last
    /// walk reads the empty directory entry: 1 reference, a miss.
    @Test func aDirectoryEntryClearedWhileSwitchedOut() throws {
        let s = try script(StackAllocator.self, Self.machine(pde: "4:full", pcid: true), """
            spawn 1
            spawn 2
            mmap 1 0x10000000 0x10002000 rw
            mmap 2 0x30000000 0x30001000 rw
            r 1 0x10000000
            r 1 0x10001000
            r 2 0x30000000
            munmap 1 0x10000000
            mmap 1 0x10000000 0x10002000 rw
            r 1 0x10000000

            """)
        let t = s.totals.tlb
        // 1 + 2 + 1 + 1 references; PDE cache: 4 misses, no hit.
        #expect((t.walkRefs, t.pdeCacheHits, t.pdeCacheMisses, t.flushes) == (5, 0, 4, 3))
    }
}
