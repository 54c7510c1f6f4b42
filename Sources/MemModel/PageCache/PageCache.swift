import MemTrace

/// File pages cached in memory, clean or dirty.
///
/// Pages live in slots of flat arrays, linked twice: on the age list
/// (``AgeList``) and on their file's list, so `fsync` and `fdrop` touch only
/// that file's pages. Only clean pages are evicted (writeback is the trace's
/// business, through `fsync`), in the order of the eviction policy (a file in
/// `Eviction/`), which the cache calls and never switches on.
///
/// Invariants: `index`, the age list and the file lists hold the same pages;
/// `dirtyCount` counts pages whose `dirty` flag is set.
public struct PageCache: Sendable {
    public let policy: PageCacheEvictionKind
    private var eviction: any PageCacheEviction

    struct Page: Sendable {
        var file: Int32
        var page: UInt32
        var frame: FrameNumber
        var dirty: Bool
        var fileNext: Int32, filePrevious: Int32
    }

    private(set) var pages = Slots<Page>()
    private var index = PageIndex()
    private var fileHeads: [Int32] = []
    private var ages = AgeList()
    public private(set) var count = 0
    public private(set) var dirtyCount = 0
    public private(set) var counters = PageCacheCounters()

    /// `--mrc`: the curve of LRU caches of every size over these accesses.
    private(set) var curve: PageCacheCurve?

    public init(policy: PageCacheEvictionKind, curve: Bool = false) {
        self.policy = policy
        eviction = policy.makePolicy()
        if curve { self.curve = PageCacheCurve() }
    }

    @inline(__always)
    static func key(_ file: Symbol, _ page: UInt32) -> UInt64 { UInt64(UInt32(bitPattern: file.raw)) << 32 | UInt64(page) }

    /// Looks a page up and counts a hit or a miss; on a hit tells the policy
    /// (and dirties the page if asked).
    @inline(__always)
    mutating func hit(_ file: Symbol, _ page: UInt32, dirty: Bool) -> Bool {
        if curve != nil { curve!.access(Self.key(file, page)) }
        guard let s = index[Self.key(file, page)] else {
            counters.misses += 1
            return false
        }
        counters.hits += 1
        eviction.hit(s, &ages)
        if dirty && !pages[Int(s)].dirty {
            pages[Int(s)].dirty = true
            dirtyCount += 1
        }
        return true
    }

    /// Inserts a page held in `frame` at the young end.
    mutating func insert(_ file: Symbol, _ page: UInt32, frame: FrameNumber, dirty: Bool) {
        let p = Page(file: file.raw, page: page, frame: frame, dirty: dirty, fileNext: -1, filePrevious: -1)
        let s = pages.insert(p)
        index.set(Self.key(file, page), s)
        ages.pushYoung(s)
        eviction.inserted(s)
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

    /// Calls `body(slot, frame)` for every cached page.
    func forEachPage(_ body: (Int, FrameNumber) -> Void) {
        for head in fileHeads {
            var s = head
            while s >= 0 {
                body(Int(s), pages[Int(s)].frame)
                s = pages[Int(s)].fileNext
            }
        }
    }

    /// Compaction moved the page in slot `s` to `frame`.
    mutating func relocate(slot s: Int, to frame: FrameNumber) { pages[s].frame = frame }

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
        if curve != nil { curve!.drop(file: UInt32(bitPattern: file.raw)) }
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
        eviction.removing(s, ages)
        ages.unlink(s)
        if p.filePrevious >= 0 { pages[Int(p.filePrevious)].fileNext = p.fileNext } else { fileHeads[Int(p.file)] = p.fileNext }
        if p.fileNext >= 0 { pages[Int(p.fileNext)].filePrevious = p.filePrevious }
        index.remove(UInt64(UInt32(bitPattern: p.file)) << 32 | UInt64(p.page))
        if p.dirty { dirtyCount -= 1 }
        count -= 1
        pages.remove(s)
        return p.frame
    }

    /// `page_cache_reclaim`'s choice: evicts up to `want` clean pages in policy
    /// order and returns their frames (the caller frees them).
    mutating func evictClean(_ want: Int, where accept: (FrameNumber) -> Bool = { _ in true }) -> [FrameNumber] {
        var victims: [FrameNumber] = []
        guard want > 0, count > 0 else { return victims }
        eviction.beginEviction(ages)
        while victims.count < want && count > 0, let s = eviction.nextCandidate(ages, count: count) {
            // Only clean pages (of the node asked for) can go.
            guard !pages[Int(s)].dirty && accept(pages[Int(s)].frame) else { continue }
            if eviction.spares(s) { continue }
            victims.append(remove(s))
        }
        return victims
    }

    /// Pages from oldest to youngest, as (file symbol, page, dirty) (tests, checks).
    public var ageOrder: [(file: Int32, page: UInt32, dirty: Bool)] {
        var out: [(Int32, UInt32, Bool)] = []
        var s = ages.tail
        while s >= 0 {
            out.append((pages[Int(s)].file, pages[Int(s)].page, pages[Int(s)].dirty))
            s = ages.newer(s)
        }
        return out
    }

    /// Frames held by cached pages (checks).
    var frames: [FrameNumber] {
        var out: [FrameNumber] = []
        var s = ages.tail
        while s >= 0 { out.append(pages[Int(s)].frame); s = ages.newer(s) }
        return out
    }

    func invariantViolation() -> String? {
        var n = 0, dirty = 0
        var s = ages.tail
        var previous: Int32 = -1
        while s >= 0 {
            n += 1
            if n > count { return "page cache: age list is longer than the page count \(count)" }
            let p = pages[Int(s)]
            if ages.older(s) != previous { return "page cache: broken age list link at slot \(s)" }
            if index[UInt64(UInt32(bitPattern: p.file)) << 32 | UInt64(p.page)] != s { return "page cache: index misses page \(p.page) of file #\(p.file)" }
            if p.dirty { dirty += 1 }
            previous = s
            s = ages.newer(s)
        }
        if n != count { return "page cache: \(n) pages on the age list, \(count) counted" }
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

/// Page-cache lookups by `fread`/`fwrite`.
public struct PageCacheCounters: CounterSet {
    public var hits = 0
    public var misses = 0
    public init() {}

    public mutating func visit<V: MetricVisitor>(_ v: inout V) {
        v.counter("pagecache_hits", &hits)
        v.counter("pagecache_misses", &misses)
    }
}
