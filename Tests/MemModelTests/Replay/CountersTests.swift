import Testing
@testable import MemModel

/// Counters are declared once; the per-tick difference and the column list
/// follow from the declaration for every counter of every subsystem.
@Suite struct CountersTests {
    /// Gives counter i the value `base + k·i` through the declaration itself.
    struct Fill: MetricVisitor {
        var base: Int
        var k: Int
        var i = 0
        mutating func counter(_ column: StaticString, _ value: inout Int) {
            value = base + k * i
            i += 1
        }
    }

    /// Reads every counter back with its column.
    struct Read: MetricVisitor {
        var values: [(String, Int)] = []
        mutating func counter(_ column: StaticString, _ value: inout Int) { values.append(("\(column)", value)) }
    }

    func check<C: CounterSet>(_ type: C.Type, count: Int) {
        var later = C(), earlier = C()
        var fill = Fill(base: 1000, k: 7)
        later.visit(&fill)
        fill = Fill(base: 10, k: 3)
        earlier.visit(&fill)
        var delta = later.since(earlier)
        var read = Read()
        delta.visit(&read)
        #expect(read.values.count == count)
        // (1000 + 7i) − (10 + 3i) = 990 + 4i: a counter left out of the
        // difference would keep 1000 + 7i, a swapped one another i.
        for (i, (column, value)) in read.values.enumerated() {
            #expect(value == 990 + 4 * i, "\(column)")
        }
        #expect(C.columns == read.values.map(\.0))
        #expect(Set(C.columns).count == count, "a column is named twice")
    }

    @Test func everyCounterTakesPartInTheTickDifference() {
        check(Counters.self, count: 43)
        check(NodeCounters.self, count: 5)
        check(FrameCounters.self, count: 2)
        check(TLBCounters.self, count: 11)
    }

    @Test func theMachinesCountersAreTheSubsystems() throws {
        let r = try script(StackAllocator.self, config(), """
            spawn 1
            mmap 1 0x1000 0x3000 rw
            w 1 0x1000
            r 1 0x1000
            fread f 0
            fread f 0
            """)
        let c = r.machine.counters
        #expect(c.tlb == r.machine.translation.counters)
        #expect(c.paging == r.machine.processes.counters)
        #expect(c.frames == r.machine.frames.counters)
        #expect(c.pageCache == r.machine.pageCache.counters)
        #expect(c.events == 6)
        #expect(c.tlb.lookups == 2 && c.tlb.hits == 1 && c.paging.demandFaults == 1)
        #expect(c.pageCache.hits == 1 && c.pageCache.misses == 1)
    }
}
