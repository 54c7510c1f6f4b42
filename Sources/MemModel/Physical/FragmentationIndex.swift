/// Linux's two per-order fragmentation measures, computed from a free-block
/// vector (free blocks per order 0...``maxOrder``, as in `/proc/buddyinfo`).
///
/// Both come from `mm/vmstat.c` (Mel Gorman, 2010) and are reproduced with the
/// kernel's integer arithmetic, so a figure here equals the one the kernel
/// would print for the same free lists, ×1000:
///
/// - `unusable_index` (`/sys/kernel/debug/extfrag/unusable_index`): the share
///   of free memory that cannot serve an allocation of order k, because it
///   lies in blocks smaller than 2^k pages. 0 = none unusable, 1000 = all.
/// - `extfrag_index` (`/sys/kernel/debug/extfrag/extfrag_index`, used by
///   compaction to choose between reclaim and compaction): meaningful only
///   when an order-k allocation would fail; then towards 0 the failure is
///   lack of memory, towards 1000 it is fragmentation. −1000 means a suitable
///   block exists (the allocation would succeed).
///
/// The same formulas are a view in `schema.sql` (`fragmentation`); a test
/// proves the two agree row for row.
public enum FragmentationIndex {
    /// `struct contig_page_info`: the free lists summed for one order.
    public struct ContigPageInfo: Equatable, Sendable {
        /// Σ free_blocks[o] << o.
        public var freePages = 0
        /// Σ free_blocks[o].
        public var freeBlocksTotal = 0
        /// Blocks of 2^k pages the free lists could hand out without
        /// compaction: Σ over o ≥ k of free_blocks[o] << (o − k).
        public var freeBlocksSuitable = 0

        public init(freePages: Int = 0, freeBlocksTotal: Int = 0, freeBlocksSuitable: Int = 0) {
            self.freePages = freePages
            self.freeBlocksTotal = freeBlocksTotal
            self.freeBlocksSuitable = freeBlocksSuitable
        }
    }

    /// `fill_contig_page_info()` for `suitableOrder`.
    /// - Complexity: O(orders).
    public static func contigPageInfo(_ freeBlocks: [Int], suitableOrder: Int) -> ContigPageInfo {
        var info = ContigPageInfo()
        for (order, blocks) in freeBlocks.enumerated() {
            info.freeBlocksTotal += blocks
            info.freePages += blocks << order
            if order >= suitableOrder {
                info.freeBlocksSuitable += blocks << (order - suitableOrder)
            }
        }
        return info
    }

    /// `unusable_free_index()`, ×1000:
    /// `(free_pages − (suitable << k)) · 1000 / free_pages`, truncated;
    /// 1000 when nothing is free (the kernel reads "no free memory" as "all
    /// free memory is unusable").
    public static func unusable(_ freeBlocks: [Int], order: Int) -> Int {
        let info = contigPageInfo(freeBlocks, suitableOrder: order)
        if info.freePages == 0 { return 1000 }
        return (info.freePages - (info.freeBlocksSuitable << order)) * 1000 / info.freePages
    }

    /// `__fragmentation_index()`, ×1000:
    /// 0 when there are no free blocks, −1000 when a suitable block exists,
    /// else `1000 − (1000 + free_pages · 1000 / 2^k) / free_blocks_total`
    /// with both divisions truncating (`div_u64`). It can be negative when a
    /// few small blocks hold more than half of a request (one free page and
    /// k = 1 give −500), as the kernel's unsigned result cast to `int` is.
    public static func extfrag(_ freeBlocks: [Int], order: Int) -> Int {
        let info = contigPageInfo(freeBlocks, suitableOrder: order)
        let requested = 1 << order
        if info.freeBlocksTotal == 0 { return 0 }
        if info.freeBlocksSuitable > 0 { return -1000 }
        return 1000 - (1000 + info.freePages * 1000 / requested) / info.freeBlocksTotal
    }
}
