/// The contents of the frames that hold page directories and page tables,
/// stored sparsely: only the 32-entry chunks that hold a present entry.
///
/// Only those frames have modelled contents: 1024 32-bit entries each, read
/// and written by (frame, index), so a walk reads "physical memory" exactly
/// as the MMU would, and the recursive window works by the same arithmetic
/// as on hardware. Each table's 10-bit index is split once more:
///
///     table index:  | chunk 5 | entry 5 |
///
/// Storage is one array of 32-word blocks. A table is a *map* block, whose
/// word `chunk` is the offset (block << 5) of the block holding those 32
/// entries, or 0; block 0 is all zero and never written, so an absent chunk
/// reads as 32 empty entries. A read is three indexed loads and no branch:
/// the frame's map offset, the chunk's offset, the entry. A chunk block is
/// taken when its first entry becomes present and given back when its last
/// one is cleared; a table's map block lives as long as the table.
///
/// Memory: 128 bytes of map per table plus 128 per chunk holding a present
/// entry: 4,224 bytes for a full table (a 4 KiB array per table took 4,096
/// however empty), 256 for a table with one page, 640 for a directory whose
/// entry 1023 and three user tables fall in four chunks. A process with
/// three such one-chunk tables costs 1,408 bytes instead of 16 KiB.
///
/// Why chunks rather than a dense array that small tables do without: one
/// layout for every table, no promotion threshold, reads without a branch
/// on the layout, and present entries visited in index order by skipping
/// absent chunks (``nextPresent(in:after:)``), the order in which fork and
/// exit must take and free frames. The walk from CR3 keeps the directory's
/// map offset (``activate(_:)``), so a TLB miss costs five indexed loads
/// where the dense layout took four, and no more instructions.
///
/// Invariants (``invariantViolation()``, run by `--check`): block 0 and every
/// free block are all zero; every block but 0 is free, a table's map, or a
/// chunk named by exactly one map word; a chunk's `present` count is the
/// number of its present entries and never 0 (an emptied chunk is given
/// back); non-present entries are zero; a map's `present` count is the sum
/// over its chunks; the active map is the active directory's.
struct TableMemory: Sendable {
    static let blockShift = 5
    static let blockWords = 1 << blockShift
    static let wordMask = blockWords - 1

    /// 32-word blocks: maps (chunk offsets) and chunks (entries, raw).
    var words = [UInt32](repeating: 0, count: blockWords)
    /// Per block: present entries of a chunk (≤ 32) or of a map's whole table (≤ 1024).
    var present: [UInt16] = [0]
    private var freeBlocks: [UInt32] = []
    /// Each frame's map offset (block << 5), or -1 for a frame that holds no table.
    private var mapOfFrame: [Int32]
    private(set) var tableFrames = 0
    /// The directory CR3 points at, and its map offset (see ``activate(_:)``).
    private(set) var activeDirectory = FrameNumber(raw: 0)
    private var activeMap = 0

    init(frames: Int) {
        mapOfFrame = Array(repeating: -1, count: frames)
    }

    /// Chunk blocks in use, over all tables.
    var chunks: Int { present.count - 1 - freeBlocks.count - tableFrames }

    /// Entries held for live tables: 32 per chunk in use (a dense layout holds 1024 per table).
    var storedEntries: Int { chunks << Self.blockShift }

    /// Starts using `frame` as a table; its entries are all zero.
    mutating func attach(_ frame: FrameNumber) {
        mapOfFrame[frame.index] = Int32(takeBlock())
        tableFrames += 1
    }

    /// Stops using `frame` as a table: whatever entries it still holds are dropped.
    mutating func detach(_ frame: FrameNumber) {
        let map = Int(mapOfFrame[frame.index])
        for m in map..<map + Self.blockWords where words[m] != 0 {
            let chunk = Int(words[m])
            for i in chunk..<chunk + Self.blockWords { words[i] = 0 }
            releaseBlock(chunk)
            words[m] = 0
        }
        releaseBlock(map)
        mapOfFrame[frame.index] = -1
        tableFrames -= 1
    }

    @inline(__always)
    func isTable(_ frame: FrameNumber) -> Bool { mapOfFrame[frame.index] >= 0 }

    /// Makes `dir` the directory ``walkActive(_:)`` starts from (`load_cr3`).
    @inline(__always)
    mutating func activate(_ dir: FrameNumber) {
        activeDirectory = dir
        activeMap = Int(mapOfFrame[dir.index])
    }

    /// Entry `index` of the table in `frame` (a physical memory read).
    @inline(__always)
    subscript(frame: FrameNumber, index: Int) -> PTE {
        entry(map: Int(mapOfFrame[frame.index]), index)
    }

    /// Entry `index` of the table whose map is at `map`: its chunk's offset
    /// (0, the zero block, when absent), then the entry.
    @inline(__always)
    private func entry(map: Int, _ index: Int) -> PTE {
        words.withUnsafeBufferPointer { w in
            PTE(raw: w[Int(w[map | index >> Self.blockShift]) | index & Self.wordMask])
        }
    }

    /// Writes entry `index` of the table in `frame`. The model writes only
    /// present entries and `.none`, so an emptied chunk is all zero and can go.
    @inline(__always)
    mutating func write(_ frame: FrameNumber, _ index: Int, _ value: PTE) {
        assert(value.isPresent || value == .none, "a non-present entry is written as zero")
        let map = Int(mapOfFrame[frame.index])
        let m = map | index >> Self.blockShift
        var chunk = Int(words[m])
        if chunk == 0 {
            guard value.isPresent else { return }
            chunk = takeBlock()
            words[m] = UInt32(chunk)
        }
        let i = chunk | index & Self.wordMask
        let was = words[i] & 1, now = value.raw & 1
        words[i] = value.raw
        guard was != now else { return }
        if now == 1 {
            present[chunk >> Self.blockShift] += 1
            present[map >> Self.blockShift] += 1
        } else {
            present[chunk >> Self.blockShift] -= 1
            present[map >> Self.blockShift] -= 1
            if present[chunk >> Self.blockShift] == 0 {
                releaseBlock(chunk)
                words[m] = 0
            }
        }
    }

    /// Fork's copy of a page table: for every present entry `i` of the
    /// table in `parent`, in index order, `entry(i, e)` (present) becomes
    /// that entry of the table in `child` and, when it differs, of the
    /// parent's; each copied entry's frame gains a reference in
    /// `refcount`. `child` is attached and empty. Works a chunk at a time,
    /// so the child gets one chunk per chunk of the parent and the counts
    /// are copied, not recounted. Returns the number of entries copied.
    /// - Complexity: O(32 + 32 · chunks of the parent).
    mutating func copyTable(from parent: FrameNumber, to child: FrameNumber, refcount: inout [UInt32],
                            _ entry: (Int, PTE) -> PTE) -> Int {
        let pmap = Int(mapOfFrame[parent.index]), cmap = Int(mapOfFrame[child.index])
        assert(present[cmap >> Self.blockShift] == 0, "fork copies into an empty table")
        var copied = 0
        for c in 0 ..< Self.blockWords {
            let pchunk = Int(words[pmap | c])
            guard pchunk != 0 else { continue }
            let cchunk = takeBlock()
            words[cmap | c] = UInt32(cchunk)
            for k in 0 ..< Self.blockWords {
                let raw = words[pchunk | k]
                guard raw & 1 != 0 else { continue }
                let e = entry(c << Self.blockShift | k, PTE(raw: raw))
                assert(e.isPresent, "fork copies present entries")
                if e.raw != raw { words[pchunk | k] = e.raw }
                words[cchunk | k] = e.raw
                refcount[e.frame.index] += 1
            }
            let n = present[pchunk >> Self.blockShift]
            present[cchunk >> Self.blockShift] = n
            copied += Int(n)
        }
        present[cmap >> Self.blockShift] = UInt16(copied)
        return copied
    }

    /// A zeroed block (free blocks are kept zero); its offset.
    private mutating func takeBlock() -> Int {
        if let b = freeBlocks.popLast() { return Int(b) << Self.blockShift }
        words.append(contentsOf: repeatElement(0, count: Self.blockWords))
        present.append(0)
        return (present.count - 1) << Self.blockShift
    }

    /// Gives back the block at offset `offset`, whose words are all zero.
    private mutating func releaseBlock(_ offset: Int) {
        present[offset >> Self.blockShift] = 0
        freeBlocks.append(UInt32(offset >> Self.blockShift))
    }

    func present(in frame: FrameNumber) -> Int { Int(present[Int(mapOfFrame[frame.index]) >> Self.blockShift]) }

    /// The first index above `after` whose entry is present in the table in
    /// `frame`, or 1024 when there is none. Skips absent chunks whole, so
    /// visiting a table's present entries in index order costs O(32 + present).
    func nextPresent(in frame: FrameNumber, after: Int) -> Int {
        let map = Int(mapOfFrame[frame.index])
        var i = after + 1
        while i < 1024 {
            let chunk = Int(words[map | i >> Self.blockShift])
            if chunk == 0 {
                i = (i | Self.wordMask) + 1
                continue
            }
            if words[chunk | i & Self.wordMask] & 1 != 0 { return i }
            i += 1
        }
        return 1024
    }

    /// Two-level walk of `v` from directory `dir`: the entry the MMU would use, or `.none`.
    @inline(__always)
    func walk(_ dir: FrameNumber, _ v: UInt32) -> PTE {
        let pde = self[dir, Paging.directoryIndex(v)]
        guard pde.isPresent else { return .none }
        if pde.has(.pageSize) { return pde.page(in: v) }
        return self[pde.frame, Paging.tableIndex(v)]
    }

    /// ``walk(_:_:)`` from the active directory (the TLB-miss path), whose
    /// map is kept by ``activate(_:)`` rather than looked up. A present
    /// directory entry names an attached table (``invariantViolation()``
    /// checks it), so its map offset is read without a bounds check.
    @inline(__always)
    func walkActive(_ v: UInt32) -> PTE {
        let pde = entry(map: activeMap, Paging.directoryIndex(v))
        guard pde.isPresent else { return .none }
        if pde.has(.pageSize) { return pde.page(in: v) }
        let map = mapOfFrame.withUnsafeBufferPointer { Int($0[pde.frame.index]) }
        return entry(map: map, Paging.tableIndex(v))
    }

    /// The active directory's entry for `v`: the first read of a walk.
    @inline(__always)
    func activeDirectoryEntry(_ v: UInt32) -> PTE {
        entry(map: activeMap, Paging.directoryIndex(v))
    }

    /// The PTE of `v` in the table a present directory entry `pde` names:
    /// the second read of a walk.
    @inline(__always)
    func tableEntry(_ pde: PTE, _ v: UInt32) -> PTE {
        let map = mapOfFrame.withUnsafeBufferPointer { Int($0[pde.frame.index]) }
        return entry(map: map, Paging.tableIndex(v))
    }

    /// Where a read of virtual address `v` lands in physical memory: the frame
    /// and byte offset, resolved by the same two-level walk. Used to read a PTE
    /// through the recursive window.
    func resolve(_ dir: FrameNumber, _ v: UInt32) -> (frame: FrameNumber, offset: Int)? {
        let pte = walk(dir, v)
        guard pte.isPresent else { return nil }
        return (pte.frame, Int(v & 0xFFF))
    }

    /// The first broken invariant of the layout (see the type's comment), or
    /// `nil`. O(blocks · 32 + frames).
    func invariantViolation() -> String? {
        let blocks = present.count
        if words.count != blocks << Self.blockShift { return "\(words.count) words stored for \(blocks) blocks" }
        func zero(_ b: Int) -> Bool { words[b << Self.blockShift..<(b + 1) << Self.blockShift].allSatisfy { $0 == 0 } }
        if present[0] != 0 || !zero(0) { return "block 0, which stands for every absent chunk, is not all zero" }
        var owner = [Int](repeating: -1, count: blocks)  // -2 free, else the frame whose table holds the block
        owner[0] = -3
        for b in freeBlocks.map(Int.init) {
            guard b > 0, b < blocks, owner[b] == -1 else { return "free block list holds block \(b) twice or out of range" }
            guard zero(b), present[b] == 0 else { return "free block \(b) is not all zero" }
            owner[b] = -2
        }
        var tables = 0, active = false
        for frame in mapOfFrame.indices where mapOfFrame[frame] >= 0 {
            let map = Int(mapOfFrame[frame])
            let mb = map >> Self.blockShift
            tables += 1
            if frame == activeDirectory.index { active = map == activeMap }
            guard map & Self.wordMask == 0, mb > 0, mb < blocks, owner[mb] == -1 else {
                return "table in frame \(frame): its map block \(mb) is free, out of range or taken"
            }
            owner[mb] = frame
            var total = 0
            for k in 0..<Self.blockWords {
                let chunk = Int(words[map | k])
                guard chunk != 0 else { continue }
                let cb = chunk >> Self.blockShift
                guard chunk & Self.wordMask == 0, cb < blocks, owner[cb] == -1 else {
                    return "table in frame \(frame): chunk \(k) is block \(cb), which is free, out of range or taken"
                }
                owner[cb] = frame
                let e = words[chunk..<chunk + Self.blockWords]
                let n = e.count { $0 & 1 != 0 }
                if n == 0 { return "table in frame \(frame): chunk \(k) holds no present entry but is kept" }
                if n != Int(present[cb]) { return "table in frame \(frame): chunk \(k) holds \(n) present entries, counted \(present[cb])" }
                if e.contains(where: { $0 & 1 == 0 && $0 != 0 }) { return "table in frame \(frame): chunk \(k) holds a non-present entry that is not zero" }
                total += n
            }
            if total != Int(present[mb]) { return "table in frame \(frame): \(total) present entries, counted \(present[mb])" }
        }
        if tables != tableFrames { return "\(tables) frames hold tables, \(tableFrames) counted" }
        if let lost = owner.firstIndex(of: -1) { return "block \(lost) is neither free nor in a table" }
        if tables > 0 && !active { return "the active directory's map is not the one walks start from" }
        return nil
    }
}
