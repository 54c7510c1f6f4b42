import Testing
import MemTrace
@testable import MemModel

/// NUMA: nodes split memory evenly; with the stack allocator each node hands
/// out its lowest frames first. Node k of N owns frames [k·F/N, (k+1)·F/N).
@Suite struct NUMATests {
    func numa(mem: UInt64, nodes: Int, policy: NumaPolicy = .local) -> MachineConfig {
        config(mem: mem) {
            $0.nodes = nodes
            $0.numaPolicy = policy
        }
    }

    @Test func fallbackWhenTheHomeNodeIsFull() throws {
        // 8 frames, 2 nodes: node 0 = 0...3 (kernel directory 0), node 1 = 4...7.
        let r = try script(StackAllocator.self, numa(mem: 32 << 10, nodes: 2), """
            spawn 1                      # home node 1: directory 4
            palloc a                     # by the kernel (node 0): frame 1
            switch 1
            palloc b                     # node 1: 5
            palloc c                     # 6
            palloc d                     # 7
            palloc e                     # node 1 full: falls back to node 0, frame 2
            """)
        let m = r.machine
        let frames = ["a", "b", "c", "d", "e"].map { m.frame(ofHandle: r.symbol(.handle, $0)) }
        #expect(frames == [1, 5, 6, 7, 2].map { FrameNumber($0) })
        #expect(m.process(1)!.directory == FrameNumber(4))
        #expect(m.nodeCounters.map(\.fallbackAllocations) == [1, 0])
        let nodes = r.ticks[0].nodes
        #expect(nodes.map(\.usedPages) == [3, 4])
        #expect(nodes.map(\.freePages) == [1, 0])
        #expect(nodes.map(\.delta.fallbackAllocations) == [1, 0])
    }

    @Test func interleaveGoesRoundRobin() throws {
        // 16 frames, 4 nodes of 4: 0-3, 4-7, 8-11, 12-15; the kernel directory is frame 0.
        let r = try script(StackAllocator.self, numa(mem: 64 << 10, nodes: 4, policy: .interleave), """
            palloc h1
            palloc h2
            palloc h3
            palloc h4
            palloc h5
            palloc h6
            """)
        let frames = (1...6).map { r.machine.frame(ofHandle: r.symbol(.handle, "h\($0)")) }
        #expect(frames == [1, 4, 8, 12, 2, 5].map { FrameNumber($0) })
        #expect(r.ticks[0].nodes.map(\.usedPages) == [3, 2, 1, 1])
        #expect(r.machine.nodeCounters.allSatisfy { $0.fallbackAllocations == 0 })
    }

    @Test func remoteAccessesToASharedSegment() throws {
        // 16 frames, 2 nodes of 8. PID 1 is homed on node 1, PID 2 on node 0.
        let r = try script(StackAllocator.self, numa(mem: 64 << 10, nodes: 2), """
            spawn 1                      # directory 8 (node 1)
            spawn 2                      # directory 1 (node 0)
            mmap 1 0x10000 0x11000 rw shared=s
            mmap 2 0x20000 0x21000 rw shared=s
            w 1 0x10000                  # table 9, segment frame 10: both node 1; local
            r 2 0x20000                  # table 2 (node 0), frame 10 on node 1: remote
            r 2 0x20000                  # a TLB hit, still remote
            r 1 0x10000                  # local
            """)
        let m = r.machine
        #expect(m.segmentFrames(r.symbol(.segment, "s")) == [FrameNumber(10)])
        #expect(m.nodeCounters.map(\.localAccesses) == [0, 2])
        #expect(m.nodeCounters.map(\.remoteAccesses) == [2, 0])
        #expect(m.tables[FrameNumber(1), 0].frame == FrameNumber(2))   // PID 2's page table on node 0
        #expect(m.tables[FrameNumber(8), 0].frame == FrameNumber(9))   // PID 1's on node 1
    }

    @Test func eachNodesKswapdWatchesItsOwnNode() throws {
        // 200 frames, 2 nodes of 100. Only node 1 is pressured: 1 + 85 = 86 used
        // there (86 %), 1 on node 0; machine-wide usage is 43.5 %.
        var body = "spawn 1\nswitch 1\n"
        for p in 0..<85 { body += "fread f \(p)\n" }
        let r = try script(StackAllocator.self, numa(mem: 800 << 10, nodes: 2), body)
        let n = r.ticks[0].nodes
        #expect(n[1].kswapdActive && n[1].delta.kswapdWakeups == 1)
        #expect(!n[0].kswapdActive && n[0].delta.kswapdWakeups == 0)
        #expect(n[1].delta.reclaimedPages == 26)  // down to 60 of 100
        #expect(n.map(\.usedPages) == [1, 60])
        #expect(r.ticks[0].delta.reclaim.reclaimedPagecachePages == 26)
        #expect(r.ticks[0].gauges.kswapdActive)
        // Without NUMA the same trace is far below the high watermark.
        let flat = try script(StackAllocator.self, config(mem: 800 << 10), body)
        #expect(flat.ticks[0].delta.reclaim.kswapdWakeups == 0)
    }

    @Test func oneNodeRowsEqualTheMachineTotals() throws {
        let r = try script(StackAllocator.self, config(mem: 400 << 10), "palloc a 7\nfread f 1\nspawn 3\npfree a\n")
        for t in r.ticks {
            #expect(t.nodes.count == 1)
            #expect(t.nodes[0].freePages == t.gauges.freePages)
            #expect(t.nodes[0].usedPages == t.gauges.usedPages)
            #expect(t.nodes[0].usagePct == t.gauges.usagePct)
            #expect(t.nodes[0].largestFreeBlock == t.gauges.largestFreeBlock)
            #expect(t.nodes[0].fragIndex == t.gauges.fragIndex)
        }
    }

    @Test func spawnNodeOverrideAndErrors() throws {
        let r = try script(StackAllocator.self, numa(mem: 64 << 10, nodes: 2), "spawn 2 node=1\n")
        #expect(r.machine.process(2)!.node == 1)
        #expect(r.machine.process(2)!.directory == FrameNumber(8))
        #expect(scriptError(StackAllocator.self, numa(mem: 64 << 10, nodes: 2), "spawn 2 node=2\n")?.message
                == "spawn: node 2 does not exist (the machine has 2 nodes)")
        var bad = config(mem: 36 << 10)
        bad.nodes = 2
        #expect(throws: SpecError.self) { try bad.validate() }
    }

    @Test(arguments: FrameAllocatorKind.allCases)
    func numaTraceReplaysWithChecks(kind: FrameAllocatorKind) throws {
        var options = ReplayOptions()
        options.machine.pmm = kind
        options.machine.checkEvery = 1
        for policy in NumaPolicy.allCases {
            options.machine.numaPolicy = policy
            var sink = RecordingSink()
            _ = try Replayer.run(path: tracesFolder + "/numa.trace", options: options, sink: &sink)
            #expect(sink.ticks.allSatisfy { $0.nodes.count == 2 })
        }
    }
}
