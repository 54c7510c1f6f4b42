/// Which address space holds each PCID (`--pcid`), and how far each tag's
/// TLB entries have caught up with their address space's changes.
///
/// The rule is Linux's, from the commit that brought PCIDs to x86 (Linux
/// 4.14, `arch/x86/mm/tlb.c`: `choose_new_asid()` L33–65 and
/// `switch_mm_irqs_off()` after it), with `count` tags where Linux keeps
/// `TLB_NR_DYN_ASIDS` (6) per CPU:
///
/// - Every address space has a context id that is never reused
///   (`mm->context.ctx_id`, from `last_mm_ctx_id`), and a TLB generation
///   (`mm->context.tlb_gen`) that every change to its mappings made while
///   it does not run increments (`flush_tlb_mm_range()`: `inc_mm_tlb_gen()`),
///   and fork of it while it runs (whose flush catches its tag up at once).
/// - A switch to an address space that still holds a tag loads CR3 with the
///   no-flush bit, unless the tag's generation is behind the address
///   space's: then the tag is flushed and catches up.
/// - One without a tag takes the next one round robin (`next_asid`; after
///   the last, tag 0 and then 1 again) and flushes it: that recycles the
///   tag of whichever address space held it.
///
/// Tag 0 starts with the kernel (PID 0), as `init_mm` has ASID 0 at boot.
/// An exited address space keeps its tag until the round robin reaches it;
/// its entries stay in the TLB, unreachable, as on hardware.
///
/// Simplification: x86 allows PCIDs only with 4-level paging (CR4.PCIDE
/// needs IA-32e mode, SDM Vol. 3A §4.10.1); the model tags the TLBs of its
/// 2-level 32-bit paging, which is what a PCID-tagged TLB would do with
/// these address spaces.
struct PCIDTags: Sendable {
    let count: Int
    /// Per tag: the context id holding it (0: none), and the TLB generation
    /// of that address space its entries reflect.
    private(set) var context: [UInt64]
    private(set) var generation: [UInt64]
    private var tagOf: [UInt64: Int]
    private var next = 1
    private(set) var current = 0

    init(count: Int, kernelContext: UInt64) {
        self.count = count
        context = Array(repeating: 0, count: count)
        generation = Array(repeating: 0, count: count)
        context[0] = kernelContext
        tagOf = [kernelContext: 0]
    }

    /// The tag a switch to address space `ctx` (at TLB generation `gen`)
    /// loads, and whether the tag must be flushed first.
    mutating func choose(_ ctx: UInt64, gen: UInt64) -> (tag: Int, flush: Bool) {
        if let t = tagOf[ctx] {
            current = t
            let behind = generation[t] < gen
            generation[t] = gen
            return (t, behind)
        }
        var t = next
        next += 1
        if t >= count {
            t = 0
            next = 1
        }
        if context[t] != 0 { tagOf[context[t]] = nil }
        context[t] = ctx
        generation[t] = gen
        tagOf[ctx] = t
        current = t
        return (t, true)
    }

    /// The running address space's tag was flushed at generation `gen`.
    mutating func caughtUp(_ gen: UInt64) { generation[current] = gen }
}
