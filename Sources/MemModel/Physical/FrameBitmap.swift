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

    /// - Complexity: O(frames / 64 + free runs + blocks), once per tick.
    public init(_ bitmap: FrameBitmap) {
        var f = 0
        while let s = bitmap.firstFree(from: f) {
            let e = bitmap.firstUsed(from: s)
            if e - s > largestFreeRun { largestFreeRun = e - s }
            var a = s
            while a < e {
                let order = Self.largestBlock(at: a, end: e)
                blocksPerOrder[order] += 1
                a += 1 << order
            }
            f = e
        }
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
