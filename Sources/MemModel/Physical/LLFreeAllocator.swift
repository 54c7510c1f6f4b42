import MemTrace

/// LLFree (Wrenger, Rommel, Lohmann, Dietrich: "LLFree: Scalable and
/// Optionally-Persistent Page-Frame Allocation", USENIX ATC 2023), on one core.
///
/// The paper's allocator is the Rust one its artifact ran (llfree-rs, commit
/// 00f030e0, `core/src/upper/array.rs`, `core/src/lower/cache.rs`,
/// `core/src/entry.rs`, `core/src/table.rs`; the kernel boot log of the
/// fragmentation run names those files). The paper's section numbers are not
/// cited: its text was not at hand to check them against, so every rule
/// below cites the code instead. Its two levels:
///
/// - **Lower**: one bit per frame (1 = allocated) in 64-bit words; 8 words
///   make a **child** of 512 frames (a 2 MiB huge frame on x86-64), whose
///   entry holds its free count and a `huge` flag (`entry.rs` 215–220).
/// - **Upper**: 32 children make a **tree** of 16384 frames (`Cache<32>`),
///   whose entry holds a free count and a `reserved` flag (`entry.rs`
///   164–169). A core allocates only from the tree it has reserved, whose
///   count it holds locally (`entry.rs` 195, 202), with a search hint.
///
/// Allocation of order k (`array.rs` `get_inner`, 371–425): take 2^k from
/// the local count; search the reserved tree from the hint: children next
/// fit with wrap-around, words from the hint's word with wrap-around, the
/// lowest aligned run of 2^k zero bits in a word for k ≤ 6 (`table.rs`
/// 149–185, 255–300); 2 or 4 aligned all-zero words from word 0 for k = 7, 8
/// (`table.rs` 191–215); a child with all 512 frames free, marked huge, for
/// k = 9 (`cache.rs` 442–459); an aligned pair of such children for k = 10
/// (`cache.rs` 462–478). Orders above 10 fail (`array.rs` 155–159). A small
/// allocation (k < 6) moves the hint to the frame's word.
///
/// Reservation (`array.rs` 484–490, 645–724): when the local count is short,
/// the next tree is, in this order, one with ≥ 1024 free frames among the
/// nearest `max(1, trees / 4)` around the current position (−1, +1, −2, …
/// from its 32-aligned base, the base itself not probed), then a *partially*
/// used one (1024 ≤ free < 16384 − 1024) anywhere, then a free one
/// (≥ 15360), then any with 2^k. When the tree had the count but no fitting
/// run (fragmented), free trees are tried before partial ones. The old tree's
/// count is written back. The first reservation starts at tree 0.
///
/// Free (`array.rs` 174–228, `cache.rs` 211–246, 481–503): clear the bits (or
/// the huge flag), give the count to the local copy if the tree is reserved,
/// else to the tree's entry; if the last 3 frees (`Array3C32`, the artifact's
/// configuration) all went to that tree and it now has more than 1024 free
/// frames, reserve it (the "free-reserve" heuristic, 206–220).
///
/// Simplifications: one core, so no locks, CAS retries, syncing with the
/// global counter or stealing (none of which exist without a second core);
/// reserved frames are allocated at boot; frames past the end of memory are
/// allocated bits of the last child, never counted free. `allocate(count:)`
/// takes 2^⌈log2 count⌉ frames, as the buddy variants do.
///
/// Invariant: each child's free count equals its clear bits (0 with every
/// bit set when huge), each tree's count (plus the local copy for the
/// reserved tree, whose entry then holds 0) equals its children's, and the
/// total is `freeCount`.
public struct LLFreeAllocator: FrameAllocator {
    public private(set) var bitmap: FrameBitmap
    public private(set) var freeCount: Int
    public static let childOrder = 9
    public static let childrenPerTree = 32
    public static let treeFrames = (1 << childOrder) * childrenPerTree
    /// `almost_allocated()`: a tree with fewer free frames is nearly full.
    static let almostAllocated = 1 << 10
    /// `almost_free()`: a tree with at least this many is (nearly) free.
    static let almostFree = treeFrames - (1 << 10)
    /// Frees in a row into one tree that make it the reserved one.
    static let freesToReserve = 3

    private var childFree: [UInt16]
    private var childHuge: [Bool]
    private var treeFree: [Int32]
    private let frames: Int
    /// The reserved tree, or -1 before the first reservation.
    public private(set) var reservedTree = -1
    /// The reserved tree's free count, held by the core.
    private var localFree = 0
    /// The search hint: a word index (frame / 64).
    private var hint = 0
    private var lastFreeTree = -1
    private var lastFreeCount = 0
    /// Reservations made so far (tests, invariants).
    public private(set) var reservations = 0

    public init(frames: Int, reserved: Int) {
        self.frames = frames
        bitmap = FrameBitmap(frames: frames, reserved: reserved)
        freeCount = frames - reserved
        let children = (frames + 511) >> Self.childOrder
        let trees = (children + Self.childrenPerTree - 1) / Self.childrenPerTree
        let free = (0..<children).map { c in
            let start = max(c << Self.childOrder, reserved), end = min((c + 1) << Self.childOrder, frames)
            return UInt16(max(end - start, 0))
        }
        childFree = free
        childHuge = Array(repeating: false, count: children)
        treeFree = (0..<trees).map { t in
            Int32((t * Self.childrenPerTree..<min((t + 1) * Self.childrenPerTree, children)).reduce(0) { $0 + Int(free[$1]) })
        }
    }

    /// Blocks of 2^k frames are aligned (a run in a word, whole children, an aligned pair).
    public static var alignsBlocks: Bool { true }
    /// 2^⌈log2 count⌉.
    public static func footprint(_ count: Int) -> Int { BuddyAllocator.footprint(count) }

    var treeCount: Int { treeFree.count }

    // MARK: Allocation

    public mutating func allocate(count: Int) -> FrameNumber? {
        let k = BuddyAllocator.orderFor(count)
        guard k <= maxOrder else { return nil }
        let n = 1 << k
        var fragmented = false
        // `get()` gives up after CAS_RETRIES (16) reservations (`array.rs`
        // 162): two fragmented trees would otherwise hand the search back
        // and forth for ever.
        for _ in 0..<16 {
            if reservedTree >= 0 && localFree >= n {
                localFree -= n
                if let f = lowerGet(k) {
                    if k < 6 && f >> 6 != hint { hint = f >> 6 }
                    freeCount -= n
                    return FrameNumber(f)
                }
                localFree += n
                fragmented = true
            }
            guard reserve(order: k, freeFirst: fragmented) else { return nil }
            fragmented = false
        }
        return nil
    }

    /// The lower allocator's search in the reserved tree from the hint.
    private mutating func lowerGet(_ k: Int) -> Int? {
        let firstChild = reservedTree * Self.childrenPerTree
        let hintChild = (hint >> 3) % Self.childrenPerTree
        let n = 1 << k
        if k == maxOrder {
            let pairs = Self.childrenPerTree / 2
            for j in 0..<pairs {
                let c = firstChild + (((hintChild >> 1) + j) % pairs) * 2
                guard c + 1 < childFree.count, childFree[c] == 512, childFree[c + 1] == 512 else { continue }
                for x in [c, c + 1] { markHuge(x) }
                return c << Self.childOrder
            }
            return nil
        }
        for j in 0..<Self.childrenPerTree {
            let c = firstChild + (hintChild + j) % Self.childrenPerTree
            guard c < childFree.count, !childHuge[c], Int(childFree[c]) >= n else { continue }
            if k == Self.childOrder {
                guard childFree[c] == 512 else { continue }
                markHuge(c)
                return c << Self.childOrder
            }
            let firstWord = c << 3
            let startWord = j == 0 ? hint & 7 : 0
            if let f = takeRun(k, child: c, firstWord: firstWord, startWord: startWord) {
                childFree[c] -= UInt16(n)
                return f
            }
        }
        return nil
    }

    private mutating func markHuge(_ c: Int) {
        childHuge[c] = true
        childFree[c] = 0
        for w in c << 3..<(c + 1) << 3 { bitmap.setUsed(word: w, mask: ~0) }
    }

    /// The frame of an aligned run of 2^k clear bits in child `c`, set.
    private mutating func takeRun(_ k: Int, child c: Int, firstWord: Int, startWord: Int) -> Int? {
        if k >= 7 {
            let span = 1 << (k - 6)
            for w in stride(from: firstWord, to: firstWord + 8, by: span)
            where (w..<w + span).allSatisfy({ $0 < bitmap.words.count && bitmap.word($0) == 0 }) {
                for x in w..<w + span { bitmap.setUsed(word: x, mask: ~0) }
                return w << 6
            }
            return nil
        }
        for i in 0..<8 {
            let w = firstWord + (startWord + i) & 7
            guard w < bitmap.words.count else { continue }
            if let bit = Self.firstAlignedZeros(bitmap.word(w), order: k) {
                let mask: UInt64 = k == 6 ? ~0 : ((1 << UInt64(1 << k)) - 1) << UInt64(bit)
                bitmap.setUsed(word: w, mask: mask)
                return w << 6 | bit
            }
        }
        return nil
    }

    /// `first_zeros_aligned()` (`table.rs` 255–300): the lowest bit that
    /// starts 2^k clear bits at a multiple of 2^k, k ≤ 6.
    static func firstAlignedZeros(_ v: UInt64, order k: Int) -> Int? {
        let width = 1 << k
        if width == 64 { return v == 0 ? 0 : nil }
        let runMask: UInt64 = (1 << UInt64(width)) - 1
        var bit = 0
        while bit < 64 {
            if v >> UInt64(bit) & runMask == 0 { return bit }
            bit += width
        }
        return nil
    }

    // MARK: Reservation

    /// `Trees::reserve`: picks the next tree, writes the old one's count back.
    private mutating func reserve(order k: Int, freeFirst: Bool) -> Bool {
        let start = reservedTree >= 0 ? reservedTree : 0
        let pick = freeFirst
            ? (reserveFree(start) ?? reservePartial(start) ?? reserveAny(start, k))
            : (reservePartial(start) ?? reserveFree(start) ?? reserveAny(start, k))
        guard let t = pick else { return false }
        take(t)
        return true
    }

    /// Makes tree `t` the reserved one (`cas_reserved`, `unreserve_add`).
    private mutating func take(_ t: Int) {
        if reservedTree >= 0 { treeFree[reservedTree] += Int32(localFree) }
        localFree = Int(treeFree[t])
        treeFree[t] = 0
        reservedTree = t
        hint = t * Self.childrenPerTree << 3
        reservations += 1
    }

    private func eligible(_ t: Int) -> Bool { t != reservedTree }

    /// `reserve_partial()` (`array.rs` 658–689).
    private func reservePartial(_ start: Int) -> Int? {
        let len = treeCount
        let vicinity = max(1, len / 4)
        let base = (start + len) & ~31
        func offset(_ i: Int) -> Int { i % 2 == 0 ? i / 2 : -((i + 1) / 2) }
        func tree(_ i: Int) -> Int { ((base + offset(i)) % len + len) % len }
        for i in 1..<max(vicinity, 1) {
            let t = tree(i)
            if eligible(t) && treeFree[t] >= Self.almostAllocated { return t }
        }
        if vicinity <= len {
            for i in vicinity...len {
                let t = tree(i)
                if eligible(t) && treeFree[t] >= Self.almostAllocated && treeFree[t] < Self.almostFree { return t }
            }
        }
        return nil
    }

    /// `reserve_free()` (`array.rs` 645–655).
    private func reserveFree(_ start: Int) -> Int? {
        for i in 0..<treeCount {
            let t = (start + i) % treeCount
            if eligible(t) && treeFree[t] >= Self.almostFree { return t }
        }
        return nil
    }

    /// `reserve_any()` (`array.rs` 692–703).
    private func reserveAny(_ start: Int, _ k: Int) -> Int? {
        for i in 0..<treeCount {
            let t = (start + i) % treeCount
            if eligible(t) && treeFree[t] >= 1 << k { return t }
        }
        return nil
    }

    // MARK: Free

    public mutating func free(_ base: FrameNumber, count: Int) {
        let k = BuddyAllocator.orderFor(count)
        let n = 1 << k
        let f = base.index
        let c = f >> Self.childOrder
        if k >= Self.childOrder {
            for x in c..<c + (1 << (k - Self.childOrder)) {
                childHuge[x] = false
                childFree[x] = 512
                for w in x << 3..<(x + 1) << 3 { bitmap.setFree(word: w, mask: ~0) }
            }
        } else if k >= 6 {
            for w in f >> 6..<(f >> 6) + (1 << (k - 6)) { bitmap.setFree(word: w, mask: ~0) }
            childFree[c] += UInt16(n)
        } else {
            bitmap.setFree(word: f >> 6, mask: ((1 << UInt64(n)) - 1) << UInt64(f & 63))
            childFree[c] += UInt16(n)
        }
        freeCount += n
        let t = c / Self.childrenPerTree
        if t == reservedTree {
            localFree += n
        } else {
            treeFree[t] += Int32(n)
            if treeFree[t] > Self.almostAllocated && lastFreeTree == t && lastFreeCount >= Self.freesToReserve {
                take(t)
            }
        }
        if lastFreeTree == t {
            lastFreeCount = min(lastFreeCount + 1, Self.freesToReserve)
        } else {
            lastFreeTree = t
            lastFreeCount = 1
        }
    }

    // MARK: Inspection

    /// Children with all 512 frames free: LLFree's free huge frames.
    public var freeHugeFrames: Int { childFree.count { $0 == 512 } }

    /// Free frames of tree `t`, counting the local copy (tests).
    public func freeFrames(ofTree t: Int) -> Int { Int(treeFree[t]) + (t == reservedTree ? localFree : 0) }

    public func invariantViolation() -> String? {
        var total = 0
        for c in childFree.indices {
            var clear = 0
            for w in c << 3..<(c + 1) << 3 where w < bitmap.words.count { clear += (~bitmap.word(w)).nonzeroBitCount }
            if childHuge[c] {
                if childFree[c] != 0 || clear != 0 { return "llfree: huge child \(c) records \(childFree[c]) free frames, \(clear) clear bits" }
            } else if Int(childFree[c]) != clear {
                return "llfree: child \(c) counts \(childFree[c]) free frames but has \(clear) clear bits"
            }
            total += Int(childFree[c])
        }
        for t in treeFree.indices {
            let children = (t * Self.childrenPerTree..<min((t + 1) * Self.childrenPerTree, childFree.count)).reduce(0) { $0 + Int(childFree[$1]) }
            if t == reservedTree && treeFree[t] != 0 { return "llfree: reserved tree \(t)'s entry holds \(treeFree[t]) frames" }
            if freeFrames(ofTree: t) != children { return "llfree: tree \(t) counts \(freeFrames(ofTree: t)) free frames, its children \(children)" }
        }
        if total != freeCount { return "llfree: children hold \(total) free frames, free count is \(freeCount)" }
        if bitmap.freeCount != freeCount { return "llfree: bitmap has \(bitmap.freeCount) free frames, free count is \(freeCount)" }
        return nil
    }
}
