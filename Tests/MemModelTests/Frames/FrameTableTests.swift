import Testing
@testable import MemModel

/// The frame table keeps use, reference counts, the allocator and its
/// counters in step.
@Suite struct FrameTableTests {
    @Test(arguments: FrameAllocatorKind.allCases)
    func takeReleaseAndReferences(kind: FrameAllocatorKind) {
        struct Run: FrameAllocatorVisitor {
            func visit<F: FrameAllocator>(_ type: F.Type) {
                var c = MachineConfig()
                c.memBytes = 64 << 12  // 64 frames
                c.reserveBytes = 4 << 12
                var t = FrameTable<F>(c)
                #expect(t.allocatable == 60 && t.freeCount == 60 && t.usedCount == 0)
                let (a, node) = t.take(3, for: .handle, type: .unmovable, preferred: 0)!
                #expect(node == 0 && a.index >= 4)
                let footprint = F.footprint(3)
                #expect(t.usedCount == footprint && t.counters.allocated == footprint)
                #expect((a.index..<a.index + footprint).allSatisfy { t.use[$0] == .handle && t.refcount[$0] == 0 })
                let (b, _) = t.take(1, for: .anonymous, type: .movable, preferred: 0)!
                t.addReference(b)
                t.addReference(b)
                t.dropReference(b)
                #expect(t.use[b.index] == .anonymous && t.refcount[b.index] == 1)
                t.dropReference(b)  // the last owner frees it
                #expect(t.use[b.index] == .free && t.counters.freed == 1)
                t.release(a, 3)
                #expect(t.usedCount == 0 && t.counters.allocated - t.counters.freed == 0)
                #expect(t.invariantViolation().violation == nil)
                // A frame the table calls used but the allocator holds free is caught.
                t.use[10] = .slab
                #expect(t.invariantViolation().violation?.contains("frame 10 is slab in the frame table but free in the allocator") == true)
            }
        }
        kind.visit(Run())
    }
}
