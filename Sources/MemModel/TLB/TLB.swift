/// A set-associative translation lookaside buffer.
///
/// Set `s` holds entries `s·W ..< (s+1)·W` of one flat array; a page's set is
/// the low bits of its virtual page number. An entry caches the PTE the walk
/// found, so a permission check on a hit uses exactly what the hardware would
/// have cached. Entries of global PTEs survive ``flushNonGlobal()`` (a CR3
/// load).
///
/// A CR3 load is O(1): every entry records the address-space generation it
/// was filled in, and a flush starts a new generation. An entry is live when
/// its page matches and it is global or of the current generation; a stale
/// entry counts as an empty way, exactly as an invalid one (neither can come
/// back to life: see ``flushNonGlobal()``).
///
/// Which live entry a full set gives up is the `Replacement` policy's choice
/// (a file in `Replacement/`); the TLB tells it of every hit and fill and
/// fills empty ways first, lowest way first, whatever the policy.
///
/// Sets of at most ``scanWays`` ways are searched by scanning them — what a
/// real TLB's comparators do in parallel, and the fastest way for 4 or 8
/// ways. Wider sets (a fully associative TLB of 512 entries) keep an
/// ``AssociativeIndex`` beside the entries: a hash from page to entry, and
/// bitsets of live and global entries, so a lookup, fill or `invlpg` costs
/// O(1) whatever the ways; the LRU and FIFO policies keep their own
/// per-set recency lists for an O(1) victim (see ``Stamps``). Both ways give
/// identical results (`TLBTests` replays the same references through both).
///
/// A fully associative LRU TLB of E entries behaves as LRU page replacement
/// with E frames: a miss is a page fault of that classic model.
///
/// With PCIDs (`--pcid`, a *tagged* TLB) an entry's key is
/// `PCID << 20 | page number` (``Translation`` builds it; kernel pages
/// below the recursive window, all global, keep PCID 0 and match under
/// every PCID, as global entries do on x86, SDM Vol. 3A §4.10.2.4). Each tag has an epoch of its own:
/// an entry is stale when it is not global and its generation is not its
/// tag's epoch. ``activate(tag:)`` (a CR3 load with the no-flush bit)
/// makes a tag's entries the ones lookups match; ``flush(tag:)`` starts a
/// new epoch for one tag. Entries of the other tags stay valid and keep
/// their ways, as in hardware: a fill takes an empty or stale way first,
/// then the policy's victim among all of them.
public struct TLB<Replacement: TLBReplacement>: Sendable {
    public let spec: TLBSpec
    private let setMask: UInt32
    private let ways: Int
    private var slots: [Slot]
    /// The epoch lookups match: the current tag's (always tag 0's untagged).
    private var generation: UInt32 = 0
    /// Tagged TLBs: each tag's epoch, and the last epoch handed out.
    private let tagged: Bool
    private var epochs: [UInt32]
    private var lastEpoch: UInt32 = 0
    private var currentTag = 0
    private var replacement: Replacement
    /// Sets wider than ``scanWays``: the index is used instead of scans.
    private let indexed: Bool
    private var index: AssociativeIndex
    /// Per set `s`, at `2s`: the entry the policy heard of last (hit or
    /// filled), or -1.
    /// When the policy says more hits of that entry change nothing
    /// (``TLBReplacement/repeatedTouchChangesNothing``), a lookup tries it
    /// first and, if it still holds the page and is live, hits without the
    /// search or the policy: real traces touch the same few pages in a row
    /// (an instruction page, a stack page), each the newest of its set.
    /// An `invlpg` or flush needs no update: the entry's page or liveness
    /// says it.
    ///
    /// Indexed sets, at `2s + 1`: the entry that was newest before it, or
    /// -1. Tried after the newest and before the hash probe: where instruction
    /// fetches and data alternate in one wide set, a hit is most often on
    /// the entry touched one access before. A candidate counts only when it
    /// still holds the page and is live, so any stale value is harmless;
    /// the hit is then told to the policy as any other. (One array for
    /// both: one uniqueness check per update.)
    private var recent: [Int32]

    /// Widest set searched by a scan.
    public static var scanWays: Int { 8 }

    typealias Slot = TLBSlot

    static var invalid: UInt32 { .max }

    /// `tags`: the PCIDs of a tagged TLB (0: untagged).
    public init(_ spec: TLBSpec, seed: UInt64, tags: Int = 0) {
        self.init(spec, seed: seed, indexed: spec.ways > Self.scanWays, tags: tags)
    }

    /// `indexed` chooses the index or scans whatever the ways (tests
    /// compare the two).
    init(_ spec: TLBSpec, seed: UInt64, indexed: Bool, tags: Int = 0) {
        self.spec = spec
        tagged = tags > 0
        epochs = Array(repeating: 0, count: max(tags, 1))
        setMask = UInt32(spec.sets - 1)
        ways = spec.ways
        slots = Array(repeating: Slot(page: Self.invalid, pte: .none, generation: 0), count: spec.entries)
        replacement = Replacement(spec, seed: seed)
        self.indexed = indexed
        index = AssociativeIndex(entries: indexed ? spec.entries : 0)
        recent = Array(repeating: -1, count: 2 * spec.sets)
    }

    /// Valid and not stale (of the current tag, another tag's current
    /// epoch, or global).
    @inline(__always)
    func live(_ i: Int) -> Bool {
        if indexed { return index.isLive(i) }
        let s = slots[i]
        return tagged ? s.pte.has(.global) || s.generation == epochs[Int(s.page >> 20)] : s.isLive(generation)
    }

    /// The cached PTE of `page`, or `nil` on a miss.
    @inline(__always)
    public mutating func lookup(_ page: VirtualPage) -> PTE? {
        let vpn = page.number
        let set = Int(vpn & setMask)
        var hit = -1
        if Replacement.repeatedTouchChangesNothing {
            let e = Int(recent.withUnsafeBufferPointer { $0[2 &* set] })
            if e >= 0 {
                let slot = slots.withUnsafeBufferPointer { $0[e] }
                if slot.page == vpn && (indexed ? index.isLive(e) : slot.isLive(generation)) {
                    return slot.pte
                }
            }
            if indexed {
                let p = Int(recent.withUnsafeBufferPointer { $0[2 &* set &+ 1] })
                if p >= 0 && slots.withUnsafeBufferPointer({ $0[p].page }) == vpn && index.isLive(p) { hit = p }
            }
        }
        if indexed {
            if hit < 0 { hit = index.liveSlot(of: vpn) }
        } else {
            let base = set &* ways
            let generation = generation
            hit = slots.withUnsafeBufferPointer { s -> Int in
                var i = base
                let end = base &+ ways
                while i < end {
                    let e = s[i]
                    if e.page == vpn && e.isLive(generation) { return i }
                    i &+= 1
                }
                return -1
            }
        }
        if hit < 0 { return nil }
        replacement.touched(hit)
        if Replacement.repeatedTouchChangesNothing { becameNewest(hit, set: set) }
        return slots.withUnsafeBufferPointer { $0[hit].pte }
    }

    /// Caches `pte` for `page` after a walk: in the set's first empty
    /// (or stale) way, else in the policy's victim. The page has no live
    /// entry here (a fill follows a miss, or an `invlpg`).
    @inline(__always)
    public mutating func fill(_ page: VirtualPage, _ pte: PTE) {
        if indexed { return indexedFill(page.number, pte) }
        let vpn = page.number
        let set = Int(vpn & setMask)
        let base = set &* ways
        var slot = -1
        if tagged {
            for i in base..<base &+ ways where slots[i].page == Self.invalid || !live(i) {
                slot = i
                break
            }
        } else {
            let generation = generation
            for i in base..<base &+ ways where slots[i].page == Self.invalid || !slots[i].isLive(generation) {
                slot = i
                break
            }
        }
        if slot < 0 { slot = replacement.victim(set: set, base: base) }
        slots[slot] = Slot(page: vpn, pte: pte, generation: generation)
        replacement.inserted(slot)
        recent[2 &* set] = Int32(truncatingIfNeeded: slot)
    }

    /// Entry `e` of `set` was hit or filled: the policy heard of it last.
    @inline(__always)
    private mutating func becameNewest(_ e: Int, set: Int) {
        let indexed = indexed
        recent.withUnsafeMutableBufferPointer { r in
            if indexed { r[2 &* set &+ 1] = r[2 &* set] }
            r[2 &* set] = Int32(truncatingIfNeeded: e)
        }
    }

    /// ``fill(_:_:)`` through the index. A stale entry of the same page is
    /// dropped first: it counts as empty either way, and the index keeps at
    /// most one entry per page.
    @inline(never)
    private mutating func indexedFill(_ vpn: UInt32, _ pte: PTE) {
        let set = Int(vpn & setMask)
        let base = set &* ways
        if let old = index.slot(of: vpn) {
            index.remove(old, page: vpn)
            slots[old].page = Self.invalid
        }
        let slot = index.firstNotLive(base, ways) ?? replacement.victim(set: set, base: base)
        let evicted = slots[slot].page
        if evicted != Self.invalid { index.remove(slot, page: evicted) }
        slots[slot] = Slot(page: vpn, pte: pte, generation: generation)
        index.insert(slot, page: vpn, global: pte.has(.global))
        replacement.inserted(slot)
        becameNewest(slot, set: set)
    }

    /// `invlpg`: drops the entry of `page` if cached.
    @inline(__always)
    public mutating func invalidate(_ page: VirtualPage) {
        let vpn = page.number
        if indexed {
            if let i = index.slot(of: vpn) {
                index.remove(i, page: vpn)
                slots[i].page = Self.invalid
            }
            return
        }
        let base = Int(vpn & setMask) &* ways
        for i in base..<base &+ ways where slots[i].page == vpn {
            slots[i].page = Self.invalid
        }
    }

    /// A tagged TLB's CR3 load with the no-flush bit: lookups match the
    /// entries of `tag`; the others stay.
    mutating func activate(tag: Int) {
        currentTag = tag
        generation = epochs[tag]
    }

    /// A tagged TLB: drops the non-global entries of `tag` (a CR3 load
    /// without the no-flush bit, INVPCID single-context).
    /// - Complexity: O(1) for scanned sets, O(entries) for indexed ones.
    mutating func flush(tag: Int) {
        lastEpoch &+= 1
        if lastEpoch == 0 {
            // 2^32 epochs: drop every stale-able entry for real, so that
            // no old epoch can match again.
            for i in slots.indices where slots[i].page != Self.invalid && !slots[i].pte.has(.global) { drop(i) }
            for t in epochs.indices { epochs[t] = 0 }
            lastEpoch = 1
        }
        epochs[tag] = lastEpoch
        generation = epochs[currentTag]
        if indexed {
            for i in slots.indices where slots[i].page != Self.invalid && !slots[i].pte.has(.global)
                && Int(slots[i].page >> 20) == tag {
                index.markStale(i)
            }
        }
    }

    private mutating func drop(_ i: Int) {
        if indexed { index.remove(i, page: slots[i].page) }
        slots[i].page = Self.invalid
    }

    /// A CR3 load: drops every entry whose PTE is not global.
    public mutating func flushNonGlobal() {
        generation &+= 1
        if indexed {
            index.keepGlobalOnly()
        } else if generation == 0 {
            // After 2^32 flushes, clear stale entries for real so none revives.
            for i in slots.indices where !slots[i].pte.has(.global) { slots[i].page = Self.invalid }
        }
    }

    /// Valid entries as (page, pte), for invariant checks.
    public var validEntries: [(VirtualPage, PTE)] {
        slots.indices.compactMap { slots[$0].page == Self.invalid || !live($0) ? nil : (VirtualPage(number: slots[$0].page), slots[$0].pte) }
    }

    /// The policy's own consistency and the index's, for `--check`.
    func invariantViolation() -> String? {
        if let broken = replacement.invariantViolation() { return broken }
        guard indexed else { return nil }
        return slots.withUnsafeBufferPointer { s in
            index.invariantViolation(s)
        }
    }
}

/// One TLB entry: the page it translates (``VirtualPage/number``,
/// `UInt32.max` when empty), the cached PTE and the generation it was filled in.
struct TLBSlot: Sendable {
    var page: UInt32
    var pte: PTE
    var generation: UInt32

    /// Live in a TLB now in `current` (scanned sets; indexed ones keep a bit).
    @inline(__always)
    func isLive(_ current: UInt32) -> Bool { generation == current || pte.has(.global) }
}
