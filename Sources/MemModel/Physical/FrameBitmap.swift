/// The largest buddy order: blocks of 2^10 frames (4 MiB), as Linux's `MAX_ORDER - 1`.
public let maxOrder = 10

/// One bit per frame, set when the frame is in use (or reserved).
///
/// Every allocator variant keeps one, because the per-tick figures that make
/// variants comparable (largest free block, free blocks per order) are read
/// from it the same way whatever structure decided the allocation.
public struct FrameBitmap: Sendable {
    public private(set) var words: [UInt64]
    public let frameCount: Int
    /// No word below this one has a free bit (a search may start here).
    private(set) var freeHint = 0
    /// The smallest contiguous request that failed since the last free:
    /// a request at least that large fails at once, without a scan.
    private var smallestFailedFit = Int.max

    /// All frames start free except `[0, reserved)`; bits past `frameCount` read as used.
    public init(frames: Int, reserved: Int) {
        frameCount = frames
        words = Array(repeating: 0, count: (frames + 63) / 64)
        if reserved > 0 { setUsed(0, count: reserved) }
        let tail = frames & 63
        if tail != 0 { words[words.count - 1] |= ~0 << UInt64(tail) }
    }

    @inline(__always)
    public func isUsed(_ f: Int) -> Bool { words[f >> 6] >> UInt64(f & 63) & 1 != 0 }

    @inline(__always)
    public mutating func setUsed(_ f: Int) { words[f >> 6] |= 1 << UInt64(f & 63) }

    @inline(__always)
    public mutating func setFree(_ f: Int) {
        words[f >> 6] &= ~(1 << UInt64(f & 63))
        if f >> 6 < freeHint { freeHint = f >> 6 }
        if smallestFailedFit != .max { forgetFailureIfFits(around: f) }
    }

    /// A free only grows the run it joins, so a remembered failure stays
    /// true unless that run now reaches it. Direct reclaim frees a page and
    /// retries the same contiguous request dozens of times: this keeps each
    /// retry from rescanning the whole bitmap.
    private mutating func forgetFailureIfFits(around f: Int) {
        let need = smallestFailedFit
        let end = firstUsed(from: f)
        if end - f >= need || end - lastUsed(before: f) - 1 >= need { smallestFailedFit = .max }
    }

    /// The last used frame below `f` (or -1).
    @inline(__always)
    func lastUsed(before f: Int) -> Int {
        guard f > 0 else { return -1 }
        var w = (f - 1) >> 6
        let keep = UInt64((f - 1) & 63)
        var word = words[w] & (keep == 63 ? ~0 : (1 << (keep + 1)) - 1)
        while word == 0 {
            if w == 0 { return -1 }
            w -= 1
            word = words[w]
        }
        return w << 6 | (63 - word.leadingZeroBitCount)
    }

    /// Word `w`: the state of frames `64w ..< 64w + 64`.
    @inline(__always)
    public func word(_ w: Int) -> UInt64 { words[w] }

    /// Marks the frames of `mask`'s bits in word `w` used.
    @inline(__always)
    public mutating func setUsed(word w: Int, mask: UInt64) { words[w] |= mask }

    /// Marks the frames of `mask`'s bits in word `w` free.
    @inline(__always)
    public mutating func setFree(word w: Int, mask: UInt64) {
        words[w] &= ~mask
        if w < freeHint { freeHint = w }
        smallestFailedFit = .max
    }

    public mutating func setUsed(_ f: Int, count: Int) {
        for i in f..<f + count { setUsed(i) }
    }

    public mutating func setFree(_ f: Int, count: Int) {
        for i in f..<f + count { setFree(i) }
    }

    /// The first free frame at or after word `fromWord`.
    /// - Complexity: O(words scanned); full words are skipped 64 frames at a time.
    @inline(__always)
    public func firstFree(fromWord: Int) -> Int? {
        var w = fromWord
        while w < words.count {
            let word = words[w]
            if word != ~0 { return w << 6 | (~word).trailingZeroBitCount }
            w += 1
        }
        return nil
    }

    /// The first used frame at or after `f` (or `frameCount`).
    @inline(__always)
    func firstUsed(from f: Int) -> Int {
        var w = f >> 6
        guard w < words.count else { return frameCount }
        var word = words[w] & (~0 << UInt64(f & 63))
        while word == 0 {
            w += 1
            if w == words.count { return frameCount }
            word = words[w]
        }
        return min(w << 6 | word.trailingZeroBitCount, frameCount)
    }

    /// The first free frame at or after `f`.
    @inline(__always)
    func firstFree(from f: Int) -> Int? {
        var w = f >> 6
        guard w < words.count else { return nil }
        var word = ~words[w] & (~0 << UInt64(f & 63))
        while word == 0 {
            w += 1
            if w == words.count { return nil }
            word = ~words[w]
        }
        let r = w << 6 | word.trailingZeroBitCount
        return r < frameCount ? r : nil
    }

    /// First fit: the lowest frame that starts `count` free frames in a row.
    /// Advances the free hint past full words it crossed, and remembers a
    /// failure until the next free.
    /// - Complexity: O(frames / 64) word operations in the worst case.
    public mutating func firstFit(count: Int) -> Int? {
        guard count < smallestFailedFit else { return nil }
        if count <= 64 { return firstFitWithinWords(count) }
        var f = freeHint << 6
        var first = true
        while let s = firstFree(from: f) {
            if first {
                freeHint = s >> 6
                first = false
            }
            let e = firstUsed(from: s)
            if e - s >= count { return s }
            f = e
        }
        if first { freeHint = words.count }
        smallestFailedFit = count
        return nil
    }

    /// First fit for runs of at most 64 frames, a word at a time: inside a
    /// word, `m &= m >> s` doubling leaves the bits that start `count` free
    /// bits in a row; across words, `carry` counts the free frames that end
    /// the previous word.
    @inline(__always)
    private mutating func firstFitWithinWords(_ count: Int) -> Int? {
        var carry = 0
        var w = freeHint
        var sawFree = false
        while w < words.count {
            let used = words[w]
            if used == ~0 {
                carry = 0
                w += 1
                continue
            }
            if !sawFree {
                freeHint = w
                sawFree = true
            }
            if carry > 0 && carry + used.trailingZeroBitCount >= count { return w << 6 - carry }
            var m = ~used
            var length = 1
            while length < count {
                let s = min(length, count - length)
                m &= m >> UInt64(s)
                length += s
            }
            if m != 0 { return w << 6 | m.trailingZeroBitCount }
            carry = used == 0 ? carry + 64 : used.leadingZeroBitCount
            w += 1
        }
        if !sawFree { freeHint = words.count }
        smallestFailedFit = count
        return nil
    }

    /// The lowest free frame (a single-frame first fit).
    @inline(__always)
    public mutating func lowestFree() -> Int? {
        guard let f = firstFree(fromWord: freeHint) else {
            freeHint = words.count
            return nil
        }
        freeHint = f >> 6
        return f
    }

    /// Calls `body(start, length)` for every maximal run of free frames, in address order.
    public func forEachFreeRun(_ body: (Int, Int) -> Void) {
        var f = 0
        while let s = firstFree(from: f) {
            let e = firstUsed(from: s)
            body(s, e - s)
            f = e
        }
    }

    /// Number of free frames (population count of the complement).
    public var freeCount: Int {
        var n = 0
        for w in words { n += (~w).nonzeroBitCount }
        return n
    }
}

/// What the free frames look like, for comparing variants on equal terms.
public struct FreeSpaceShape: Equatable, Sendable {
    /// Longest run of contiguous free frames.
    public var largestFreeRun = 0
    /// Free blocks per order 0...maxOrder when each maximal free run is split
    /// greedily into the largest naturally aligned power-of-two blocks it
    /// contains — exactly the buddy allocator's free lists, and the same
    /// measure (like `/proc/buddyinfo`) for the other variants.
    public var blocksPerOrder = Array(repeating: 0, count: maxOrder + 1)

    public init() {}

    /// Fully free, aligned blocks of 512 frames (2 MiB). The blocks are
    /// each run's canonical split, so every such block lies inside one of
    /// order 9 or 10: `blocks[9] + 2 · blocks[10]`.
    public var freeHugeBlocks: Int { blocksPerOrder[9] + 2 * blocksPerOrder[10] }

    /// Computed a word at a time, without walking the runs: the greedy
    /// split of each run (``largestBlock(at:end:)``) takes exactly the
    /// aligned blocks that are wholly free while their parent (the aligned
    /// block of twice the size around them) is not — the buddy allocator's
    /// free blocks — and every wholly free block of ``maxOrder``. So for
    /// each order k the count is the population of "all 2^k frames free"
    /// at aligned positions, less those whose parent is all free: orders
    /// 0–5 from each word's bits, orders 6–10 from one bit per wholly free
    /// word. `ReferenceShape` in the tests walks the runs instead and must
    /// agree on random bitmaps.
    /// - Complexity: O(frames / 64) word operations, once per tick; the
    ///   longest run within a word is measured only when the word has more
    ///   free frames than the longest run so far.
    public init(_ bitmap: FrameBitmap) {
        var c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0
        var run = 0, best = 0
        // One bit per wholly free word, 64 words (4096 frames) at a time:
        // the orders above 5 are counted from it a group at a time.
        var full: UInt64 = 0
        let n = bitmap.words.count
        bitmap.words.withUnsafeBufferPointer { words in
            for j in 0 ..< n {
                let f0 = ~words[j]
                if f0 == ~0 {
                    full |= 1 << UInt64(j & 63)
                    run &+= 64
                } else if f0 == 0 {
                    if run > best { best = run }
                    run = 0
                } else {
                    let f1 = f0 & (f0 >> 1) & 0x5555_5555_5555_5555
                    let f2 = f1 & (f1 >> 2) & 0x1111_1111_1111_1111
                    let f3 = f2 & (f2 >> 4) & 0x0101_0101_0101_0101
                    let f4 = f3 & (f3 >> 8) & 0x0001_0001_0001_0001
                    let f5 = f4 & (f4 >> 16) & 0x0000_0001_0000_0001
                    c0 &+= (f0 & ~(f1 | f1 << 1)).nonzeroBitCount
                    c1 &+= (f1 & ~(f2 | f2 << 2)).nonzeroBitCount
                    c2 &+= (f2 & ~(f3 | f3 << 4)).nonzeroBitCount
                    c3 &+= (f3 & ~(f4 | f4 << 8)).nonzeroBitCount
                    c4 &+= (f4 & ~(f5 | f5 << 16)).nonzeroBitCount
                    c5 &+= f5.nonzeroBitCount
                    // The run reaching into this word from below ends here.
                    run &+= words[j].trailingZeroBitCount
                    if run > best { best = run }
                    if f0.nonzeroBitCount > best { best = max(best, Self.longestOnes(f0)) }
                    run = words[j].leadingZeroBitCount
                }
                if j & 63 == 63 || j == n - 1 {
                    countWholeWords(full)
                    full = 0
                }
            }
        }
        if run > best { best = run }
        largestFreeRun = best
        blocksPerOrder[0] += c0
        blocksPerOrder[1] += c1
        blocksPerOrder[2] += c2
        blocksPerOrder[3] += c3
        blocksPerOrder[4] += c4
        blocksPerOrder[5] += c5
    }

    /// Orders 6–10 from `g6`, one bit per wholly free word of 64 aligned
    /// words (groups of 2^(k-6) words are aligned within it).
    private mutating func countWholeWords(_ g6: UInt64) {
        guard g6 != 0 else { return }
        let g7 = g6 & (g6 >> 1) & 0x5555_5555_5555_5555
        let g8 = g7 & (g7 >> 2) & 0x1111_1111_1111_1111
        let g9 = g8 & (g8 >> 4) & 0x0101_0101_0101_0101
        let g10 = g9 & (g9 >> 8) & 0x0001_0001_0001_0001
        blocksPerOrder[6] += (g6 & ~(g7 | g7 << 1)).nonzeroBitCount
        blocksPerOrder[7] += (g7 & ~(g8 | g8 << 2)).nonzeroBitCount
        blocksPerOrder[8] += (g8 & ~(g9 | g9 << 4)).nonzeroBitCount
        blocksPerOrder[9] += (g9 & ~(g10 | g10 << 8)).nonzeroBitCount
        blocksPerOrder[10] += g10.nonzeroBitCount
    }

    /// The longest run of set bits in `x`: each `x & x << 1` shortens every
    /// run by one.
    @inline(__always)
    static func longestOnes(_ x: UInt64) -> Int {
        var x = x, n = 0
        while x != 0 { x &= x << 1; n &+= 1 }
        return n
    }

    /// Splits `[start, start + length)` into maximal aligned blocks.
    public static func decompose(start: Int, length: Int, _ body: (Int) -> Void) {
        var a = start
        let end = start + length
        while a < end {
            let order = largestBlock(at: a, end: end)
            body(order)
            a += 1 << order
        }
    }

    /// The order of the largest naturally aligned block that starts at frame
    /// `a` and ends by `end` (at most ``maxOrder``).
    @inline(__always)
    static func largestBlock(at a: Int, end: Int) -> Int {
        let alignment = a == 0 ? maxOrder : min(a.trailingZeroBitCount, maxOrder)
        let fit = Int.bitWidth - 1 - (end - a).leadingZeroBitCount
        return min(alignment, fit)
    }
}
