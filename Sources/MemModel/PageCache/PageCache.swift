import MemTrace

/// Page-cache eviction orders.
public enum PageCachePolicy: String, CaseIterable, Sendable, Codable {
    /// Least recently used first: a hit moves the page to the young end.
    case lru
    /// Oldest insertion first: hits do not reorder.
    case fifo
    /// Second chance: a hit sets a referenced bit; the hand clears it once
    /// before the page can be evicted.
    case clock
}

/// File pages cached in memory, clean or dirty.
///
/// Pages live in slots of flat arrays, linked twice: on one eviction list
/// (young end `head`, old end `tail`) and on their file's list, so `fsync`
/// and `fdrop` touch only that file's pages. Only clean pages are evicted
/// (writeback is the trace's business, through `fsync`).
///
/// Invariants: `index`, the eviction list and the file lists hold the same
/// pages; `dirtyCount` counts pages whose `dirty` flag is set.
public struct PageCache: Sendable {
    public let policy: PageCachePolicy

    struct Page: Sendable {
        var file: Int32
        var page: UInt32
        var frame: FrameNumber
        var dirty: Bool
        var referenced: Bool
        var newer: Int32, older: Int32
        var fileNext: Int32, filePrevious: Int32
    }

    private(set) var pages: [Page] = []
    private var freeSlots: [Int32] = []
    private var index = PageIndex()
    private var fileHeads: [Int32] = []
    private var head: Int32 = -1
    private var tail: Int32 = -1
    /// Clock hand: the next page the sweep looks at (towards the young end).
    private var hand: Int32 = -1
    public private(set) var count = 0
    public private(set) var dirtyCount = 0

    public init(policy: PageCachePolicy) { self.policy = policy }

    @inline(__always)
    static func key(_ file: Symbol, _ page: UInt32) -> UInt64 { UInt64(UInt32(bitPattern: file.raw)) << 32 | UInt64(page) }

    /// Looks a page up; on a hit updates its age per the policy (and dirties it if asked).
    @inline(__always)
    mutating func hit(_ file: Symbol, _ page: UInt32, dirty: Bool) -> Bool {
        guard let s = index[Self.key(file, page)] else { return false }
        switch policy {
        case .lru:
            if s != head {
                unlinkAge(s)
                pushYoung(s)
            }
        case .fifo: break
        case .clock: pages[Int(s)].referenced = true
        }
        if dirty && !pages[Int(s)].dirty {
            pages[Int(s)].dirty = true
            dirtyCount += 1
        }
        return true
    }

    /// Inserts a page held in `frame` at the young end.
    mutating func insert(_ file: Symbol, _ page: UInt32, frame: FrameNumber, dirty: Bool) {
        let p = Page(file: file.raw, page: page, frame: frame, dirty: dirty, referenced: false,
                     newer: -1, older: -1, fileNext: -1, filePrevious: -1)
        let s: Int32
        if let reused = freeSlots.popLast() {
            s = reused
            pages[Int(s)] = p
        } else {
            s = Int32(pages.count)
            pages.append(p)
        }
        index.set(Self.key(file, page), s)
        pushYoung(s)
        if file.index >= fileHeads.count {
            fileHeads.append(contentsOf: repeatElement(-1, count: file.index + 1 - fileHeads.count))
        }
        let fh = fileHeads[file.index]
        pages[Int(s)].fileNext = fh
        if fh >= 0 { pages[Int(fh)].filePrevious = s }
        fileHeads[file.index] = s
        count += 1
        if dirty { dirtyCount += 1 }
    }

    /// `fsync`: every dirty page of `file` becomes clean.
    mutating func clean(_ file: Symbol) {
        guard file.index < fileHeads.count else { return }
        var s = fileHeads[file.index]
        while s >= 0 {
            if pages[Int(s)].dirty {
                pages[Int(s)].dirty = false
                dirtyCount -= 1
            }
            s = pages[Int(s)].fileNext
        }
    }

    /// `fdrop`: removes every page of `file`; returns their frames.
    mutating func drop(_ file: Symbol) -> [FrameNumber] {
        guard file.index < fileHeads.count else { return [] }
        var frames: [FrameNumber] = []
        while fileHeads[file.index] >= 0 {
            frames.append(remove(fileHeads[file.index]))
        }
        return frames
    }

    /// Removes slot `s` from every structure; returns its frame.
    private mutating func remove(_ s: Int32) -> FrameNumber {
        let p = pages[Int(s)]
        if hand == s { hand = p.newer }
        unlinkAge(s)
        if p.filePrevious >= 0 { pages[Int(p.filePrevious)].fileNext = p.fileNext } else { fileHeads[Int(p.file)] = p.fileNext }
        if p.fileNext >= 0 { pages[Int(p.fileNext)].filePrevious = p.filePrevious }
        index.remove(UInt64(UInt32(bitPattern: p.file)) << 32 | UInt64(p.page))
        if p.dirty { dirtyCount -= 1 }
        count -= 1
        freeSlots.append(s)
        return p.frame
    }

    private mutating func pushYoung(_ s: Int32) {
        pages[Int(s)].older = head
        pages[Int(s)].newer = -1
        if head >= 0 { pages[Int(head)].newer = s }
        head = s
        if tail < 0 { tail = s }
    }

    private mutating func unlinkAge(_ s: Int32) {
        let p = pages[Int(s)]
        if p.newer >= 0 { pages[Int(p.newer)].older = p.older } else { head = p.older }
        if p.older >= 0 { pages[Int(p.older)].newer = p.newer } else { tail = p.newer }
    }

    /// `page_cache_reclaim`'s choice: evicts up to `want` clean pages in policy
    /// order and returns their frames (the caller frees them).
    mutating func evictClean(_ want: Int, where accept: (FrameNumber) -> Bool = { _ in true }) -> [FrameNumber] {
        var victims: [FrameNumber] = []
        guard want > 0, count > 0 else { return victims }
        switch policy {
        case .lru, .fifo:
            var s = tail
            while s >= 0 && victims.count < want {
                let younger = pages[Int(s)].newer
                if !pages[Int(s)].dirty && accept(pages[Int(s)].frame) { victims.append(remove(s)) }
                s = younger
            }
        case .clock:
            // Up to two sweeps: the first may only clear referenced bits.
            var steps = 0
            if hand < 0 { hand = tail }
            while victims.count < want && count > 0 && steps < 2 * count + 2 {
                if hand < 0 { hand = tail }
                let s = hand
                let younger = pages[Int(s)].newer
                if pages[Int(s)].dirty || !accept(pages[Int(s)].frame) {
                    // skipped: only clean pages (of the node asked for) can go
                } else if pages[Int(s)].referenced {
                    pages[Int(s)].referenced = false
                } else {
                    victims.append(remove(s))
                }
                hand = younger
                steps += 1
            }
        }
        return victims
    }

    /// Pages from oldest to youngest, as (file symbol, page, dirty) (tests, checks).
    public var ageOrder: [(file: Int32, page: UInt32, dirty: Bool)] {
        var out: [(Int32, UInt32, Bool)] = []
        var s = tail
        while s >= 0 {
            out.append((pages[Int(s)].file, pages[Int(s)].page, pages[Int(s)].dirty))
            s = pages[Int(s)].newer
        }
        return out
    }

    /// Frames held by cached pages (checks).
    var frames: [FrameNumber] {
        var out: [FrameNumber] = []
        var s = tail
        while s >= 0 { out.append(pages[Int(s)].frame); s = pages[Int(s)].newer }
        return out
    }

    func invariantViolation() -> String? {
        var n = 0, dirty = 0
        var s = tail
        var previous: Int32 = -1
        while s >= 0 {
            n += 1
            if n > count { return "page cache: eviction list is longer than the page count \(count)" }
            let p = pages[Int(s)]
            if p.older != previous { return "page cache: broken eviction list link at slot \(s)" }
            if index[UInt64(UInt32(bitPattern: p.file)) << 32 | UInt64(p.page)] != s { return "page cache: index misses page \(p.page) of file #\(p.file)" }
            if p.dirty { dirty += 1 }
            previous = s
            s = p.newer
        }
        if n != count { return "page cache: \(n) pages on the eviction list, \(count) counted" }
        if index.count != count { return "page cache: index holds \(index.count) pages, \(count) counted" }
        if dirty != dirtyCount { return "page cache: \(dirty) dirty pages, \(dirtyCount) counted" }
        var onFiles = 0
        for h in fileHeads {
            var f = h
            while f >= 0 { onFiles += 1; f = pages[Int(f)].fileNext }
        }
        if onFiles != count { return "page cache: file lists hold \(onFiles) pages, \(count) counted" }
        return nil
    }
}
