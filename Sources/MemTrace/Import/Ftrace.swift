import HeapModule

/// Kernel tracepoint text (`trace_pipe`, `perf script`), as memtrace events.
///
/// Lines look like (include/trace/events/kmem.h, vmscan.h):
///
///     kworker/u8:2-1234 [001] d..1. 5123.456789: mm_page_alloc: page=00000000c1d6ba23 pfn=0x11a39e order=0 migratetype=1 gfp_flags=GFP_KERNEL
///     Web Content-4242 [000] ..... 5123.456800: kmalloc: call_site=__alloc_skb+0x8e/0x1d0 ptr=00000000b3c1e2aa bytes_req=640 bytes_alloc=1024 gfp_flags=GFP_KERNEL node=-1 accounted=false
///          bash  1200 [002]  5123.456900: kmem:kmem_cache_free: call_site=dput+0x1c2/0x300 ptr=0xffff8881c3a4e0c0 name=dentry
///
/// Only `key=value` fields are read, never columns: what precedes the
/// timestamp (a task name with spaces and colons, PID, CPU, flags) varies
/// between tools and kernel versions. The timestamp is the first field
/// matching `DIGITS.DIGITS:` that is followed by a field ending in `:` (the
/// event, possibly `subsystem:event:` as perf prints it). Numbers are decimal
/// or `0x` hexadecimal (pfn changed from `%lu` to `0x%lx` in 4.x); pointers
/// are hexadecimal with or without `0x`, hashed by `%p` since 4.15 but stable
/// within one boot, which is all that pairing an alloc with its free needs.
///
/// | event | memtrace |
/// |---|---|
/// | `mm_page_alloc` pfn, order, migratetype | `palloc pPFN 2^order [movable\|reclaimable]` |
/// | `mm_page_free`, `mm_page_free_batched` pfn | `pfree pPFN` (the alloc's binding, whatever order the free names) |
/// | `kmalloc`, `kmalloc_node` ptr, bytes_req, call_site, bytes_alloc | `kmalloc oPTR BYTES_REQ site=ADDR alloc=BYTES_ALLOC` |
/// | `kmem_cache_alloc`(`_node`) ptr, bytes_req, [name], call_site, bytes_alloc | `cache NAME BYTES_REQ` on first sight (not for the boot-time `kmalloc-2^k`), `salloc NAME oPTR site=ADDR alloc=BYTES_ALLOC` |
/// | `kfree`, `kmem_cache_free` ptr | `kfree oPTR` or `sfree NAME oPTR`, as the object was allocated |
/// | `mm_vmscan_kswapd_wake`/`_sleep` | `# kswapd_wake nid=0 order=0 at 5123.456789` |
///
/// `call_site=` is an address (`0xffffffff8123abcd`, or bare hex digits) or,
/// as newer kernels print it, `symbol+off/len`: a symbol becomes a stable
/// made-up address (FNV-1a of its text, high bit clear), announced once by a
/// comment `# site 0x… is __alloc_skb+0x8e/0x1d0`. `alloc=` keeps the
/// kernel's `bytes_alloc`, so `replay --check` under the allocator that
/// recorded the capture reports the first allocation whose size differs.
/// `kfree` of NULL (legal, and common) is skipped and counted.
///
/// PFN and PTR are written in hexadecimal. Without `name=` (kernels before
/// 6.10 or so print none on `kmem_cache_alloc`), the cache is named by its
/// object size, `slab-192`: a call site may allocate from several caches, a
/// size never changes, and SLUB merges same-size caches anyway.
///
/// Time: with `--tick-ms T` (default 10), an event at time t seconds is in
/// tick floor(t·1000 / T); `tick N` is written when that is later than the
/// current tick. Other events and noise (`#` headers, `CPU:1 [LOST 42
/// EVENTS]`, sched events) are skipped; a kmem event without a field it needs
/// is an error. Repairs are counted: frees of unknown pages or pointers
/// (allocated before tracing started) are skipped; an alloc of a page or
/// pointer that is still live (its free was lost) frees the old binding
/// first; failed allocations (`page=(null)`, `ptr=(null)`) and `kmalloc(0)`
/// (which returns a shared token, not memory) are skipped.
///
/// Order: CPUs' events interleaved out of timestamp order (a merge that does
/// not sort) put an event after later-stamped ones. Events are held in a heap
/// by timestamp (file order among equal stamps) and written once the newest
/// stamp seen is `reorderMs` past them; one later than that is written as it
/// comes (its tick cannot go back) and counted. Whole per-CPU files one
/// after the other (`cat per_cpu/cpu*/trace`) are late by far more than any
/// window: sort those by timestamp before importing.
///
/// `migratetype=` is the type the caller asked for (its GFP flags), numbered
/// as `--migratetype-numbering` says: 4.4 and later (the default) number
/// UNMOVABLE 0, MOVABLE 1, RECLAIMABLE 2; 2.6.24 to 4.3 swap 1 and 2. Types 3
/// and up (HIGHATOMIC or RESERVE, CMA, ISOLATE) are written as unmovable and
/// counted; UNMOVABLE, the default, is not written.
///
/// A caveat to read the results with: slab pages are themselves page-allocator
/// allocations, so a recording with both kmem page and slab events counts slab
/// memory twice in the replay; filter one layer out (`grep -v`) to avoid it.
struct FtraceImporter {
    var out: ImportEmitter
    /// Nanoseconds per tick (0: no time ticks).
    let tickNs: UInt64
    /// Nanoseconds of the reorder window (0: file order).
    let windowNs: UInt64
    /// Events held for the window, and the newest stamp and line seen.
    private var held = Heap<Held>()
    private var newestNs: UInt64 = 0
    private var writtenNs: UInt64 = 0
    private var sequence = 0
    /// The line of the event being converted (errors name it).
    private var currentLine = 0
    private var lateEvents = 0
    private var fields = Fields()
    /// Live pages: pfn -> order of the alloc.
    private var pages: [UInt64: UInt8] = [:]
    /// Live objects: pointer -> cache index, or -1 for kmalloc.
    private var objects: [UInt64: Int32] = [:]
    private var caches: [(name: [UInt8], size: UInt64)] = []
    private var cacheIndex: [UInt64: Int32] = [:]
    private var scratch: [UInt8] = []

    private var unknownFrees = 0
    private var nullFrees = 0
    /// Symbolic call sites announced so far, by their made-up address.
    private var namedSites: Set<UInt64> = []
    private var missingFrees = 0
    private var failedAllocs = 0
    private var zeroSizes = 0
    private var orderMismatches = 0
    private var clamped = 0
    private var otherEvents = 0
    private var otherLines = 0

    static let maxKmalloc: UInt64 = 1 << 30
    static let maxObject: UInt64 = 4 << 20

    /// An event line waiting in the reorder window.
    struct Held: Comparable {
        var ns: UInt64
        var sequence: Int
        var line: Int
        var bytes: [UInt8]
        static func < (a: Held, b: Held) -> Bool { (a.ns, a.sequence) < (b.ns, b.sequence) }
        static func == (a: Held, b: Held) -> Bool { (a.ns, a.sequence) == (b.ns, b.sequence) }
    }

    /// How `migratetype=` numbers the types.
    let numbering: MigrateTypeNumbering
    private var otherMigrateTypes = 0

    init(_ out: ImportEmitter, tickMs: Int, reorderMs: Int = 1000, numbering: MigrateTypeNumbering = .linux44) {
        self.out = out
        self.numbering = numbering
        tickNs = UInt64(max(tickMs, 0)) * 1_000_000
        windowNs = UInt64(max(reorderMs, 0)) * 1_000_000
        scratch.reserveCapacity(64)
    }

    mutating func run(_ reader: LineReader) throws -> ImportReport {
        while let line = try reader.next() {
            fields.split(line)
            guard let t = timestampField() else {
                if fields.count > 0 { otherLines += 1 }
                continue
            }
            let ns = Self.nanoseconds(fields[t])
            let (name, kind) = event(after: t)
            guard let kind else {
                otherEvents += 1
                continue
            }
            // Only the events converted wait in the window (sched events and
            // the like would fill it for nothing).
            if windowNs == 0 {
                currentLine = reader.line
                try statement(reader, t, ns, name, kind)
                continue
            }
            held.insert(Held(ns: ns, sequence: sequence, line: reader.line, bytes: Array(line)))
            sequence += 1
            newestNs = max(newestNs, ns)
            while let first = held.min, first.ns &+ windowNs <= newestNs {
                try write(held.removeMin(), reader)
            }
        }
        while let first = held.popMin() { try write(first, reader) }
        var r = ImportReport()
        r.lines = reader.line
        r.note("unknown frees skipped", unknownFrees)
        r.note("frees of NULL skipped", nullFrees)
        r.note("frees missing before a reuse, inserted", missingFrees)
        r.note("failed allocations skipped", failedAllocs)
        r.note("kmalloc(0) skipped", zeroSizes)
        r.note("page frees of another order than the alloc", orderMismatches)
        r.note("kmalloc sizes above 1G clamped", clamped)
        r.note("other events skipped", otherEvents)
        r.note("other lines skipped", otherLines)
        r.note("events more than --reorder-ms late, taken as they came", lateEvents)
        r.note("page allocations of migrate type 3 or more, taken as unmovable", otherMigrateTypes)
        return r
    }

    /// Converts a held event line.
    private mutating func write(_ h: Held, _ reader: LineReader) throws {
        if h.ns < writtenNs { lateEvents += 1 }
        writtenNs = max(writtenNs, h.ns)
        currentLine = h.line
        try h.bytes.withUnsafeBufferPointer { b in
            fields.split(b)
            let t = timestampField()!
            let (name, kind) = event(after: t)
            try statement(reader, t, h.ns, name, kind!)
        }
    }

    /// The field that is the timestamp: `DIGITS.DIGITS:` followed by a field
    /// ending in `:` (the event).
    private func timestampField() -> Int? {
        var k = 0
        while k + 1 < fields.count {
            if Self.isTimestamp(fields[k]) && fields[k + 1].last == UInt8(ascii: ":") { return k }
            k += 1
        }
        return nil
    }

    /// A problem at the line of the event being converted.
    private func fail(_ reader: LineReader, _ message: String) -> TraceError {
        TraceError(file: reader.path, line: currentLine, message: message)
    }

    // MARK: Lines

    private enum Kind {
        case pageAlloc, pageFree, kmalloc, cacheAlloc, free, kswapdWake, kswapdSleep
    }

    /// The event named after timestamp field `t`, and its kind (nil: not
    /// one this importer converts).
    private func event(after t: Int) -> (name: UnsafeBufferPointer<UInt8>, kind: Kind?) {
        var name = fields[t + 1]
        name = UnsafeBufferPointer(rebasing: name[0..<(name.count - 1)])
        if let colon = name.lastIndex(of: UInt8(ascii: ":")) {  // perf: kmem:mm_page_alloc
            name = UnsafeBufferPointer(rebasing: name[(colon + 1)...])
        }
        let kind: Kind?
        if name.equals("mm_page_alloc") { kind = .pageAlloc }
        else if name.equals("mm_page_free") || name.equals("mm_page_free_batched") || name.equals("mm_page_free_direct") { kind = .pageFree }
        else if name.equals("kmalloc") || name.equals("kmalloc_node") { kind = .kmalloc }
        else if name.equals("kmem_cache_alloc") || name.equals("kmem_cache_alloc_node") { kind = .cacheAlloc }
        else if name.equals("kfree") || name.equals("kmem_cache_free") { kind = .free }
        else if name.equals("mm_vmscan_kswapd_wake") { kind = .kswapdWake }
        else if name.equals("mm_vmscan_kswapd_sleep") { kind = .kswapdSleep }
        else { kind = nil }
        return (name, kind)
    }

    /// The event line split in `fields`, whose timestamp (`ns`) is field `t`
    /// and whose event is `name`, of `kind`.
    private mutating func statement(_ reader: LineReader, _ t: Int, _ ns: UInt64,
                                    _ name: UnsafeBufferPointer<UInt8>, _ kind: Kind) throws {
        if tickNs > 0 { try out.advance(to: ns / tickNs) }
        let from = t + 2
        switch kind {
        case .pageAlloc: try pageAlloc(reader, from, name)
        case .pageFree: try pageFree(reader, from, name)
        case .kmalloc: try kmalloc(reader, from, name)
        case .cacheAlloc: try cacheAlloc(reader, from, name)
        case .free: try free(reader, from, name)
        case .kswapdWake, .kswapdSleep:
            let stamp = fields[t]
            try out.w.text(kind == .kswapdWake ? "# kswapd_wake" : "# kswapd_sleep")
            for i in from..<fields.count {
                try out.w.byte(0x20)
                for c in fields[i] { try out.w.byte(c < 0x20 || c == 0x7F ? UInt8(ascii: "?") : c) }
            }
            try out.w.text(" at ")
            try out.w.bytes(UnsafeBufferPointer(rebasing: stamp[0..<(stamp.count - 1)]))
            try out.w.newline()
        }
    }

    /// `DIGITS.DIGITS:`
    static func isTimestamp(_ f: UnsafeBufferPointer<UInt8>) -> Bool {
        guard f.count >= 4, f[f.count - 1] == UInt8(ascii: ":") else { return false }
        var dot = -1
        for i in 0..<(f.count - 1) {
            let c = f[i]
            if c == UInt8(ascii: ".") {
                if dot >= 0 { return false }
                dot = i
            } else if c < 48 || c > 57 {
                return false
            }
        }
        return dot > 0 && dot < f.count - 2
    }

    /// A timestamp field in nanoseconds (digits beyond the ninth decimal dropped).
    static func nanoseconds(_ f: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var seconds: UInt64 = 0
        var fraction: UInt64 = 0
        var digits = 0
        var afterDot = false
        for c in f.dropLast() {
            if c == UInt8(ascii: ".") { afterDot = true; continue }
            if afterDot {
                if digits < 9 { fraction = fraction * 10 + UInt64(c - 48); digits += 1 }
            } else {
                seconds = seconds &* 10 &+ UInt64(c - 48)
            }
        }
        while digits < 9 { fraction *= 10; digits += 1 }
        return seconds &* 1_000_000_000 &+ fraction
    }

    /// The value of `key=` among the fields from `from` on.
    private func value(_ key: StaticString, _ from: Int) -> UnsafeBufferPointer<UInt8>? {
        let n = key.utf8CodeUnitCount
        for i in from..<fields.count {
            let f = fields[i]
            if f.count > n && f[n] == UInt8(ascii: "=") && f.hasPrefix(key) {
                return UnsafeBufferPointer(rebasing: f[(n + 1)...])
            }
        }
        return nil
    }

    private func required(_ reader: LineReader, _ event: UnsafeBufferPointer<UInt8>, _ key: StaticString, _ from: Int) throws -> UnsafeBufferPointer<UInt8> {
        guard let v = value(key, from) else {
            throw fail(reader, "ftrace: \(event.text) without \(key)= in '\(fields.line.text)'")
        }
        return v
    }

    private func number(_ reader: LineReader, _ event: UnsafeBufferPointer<UInt8>, _ key: StaticString, _ from: Int) throws -> UInt64 {
        let v = try required(reader, event, key, from)
        guard let n = v.numberValue() else {
            throw fail(reader, "ftrace: \(event.text): bad \(key) '\(v.text)' (expected a decimal or 0x hexadecimal number)")
        }
        return n
    }

    /// A pointer field; `nil` for NULL (`(null)`, all zeros).
    private func pointer(_ reader: LineReader, _ event: UnsafeBufferPointer<UInt8>, _ key: StaticString, _ from: Int) throws -> UInt64? {
        let v = try required(reader, event, key, from)
        if v.equals("(null)") { return nil }
        guard let p = v.hexValue() else {
            throw fail(reader, "ftrace: \(event.text): bad \(key) '\(v.text)' (expected a hexadecimal pointer)")
        }
        return p == 0 ? nil : p
    }

    // MARK: Pages

    private mutating func pageAlloc(_ reader: LineReader, _ from: Int, _ event: UnsafeBufferPointer<UInt8>) throws {
        let pfn = try number(reader, event, "pfn", from)
        let order = try number(reader, event, "order", from)
        guard order <= 20 else {
            throw fail(reader, "ftrace: mm_page_alloc: order \(order) is out of range (0 to 20)")
        }
        // A failed allocation: page=(null) pfn=0 before 4.x, pfn=-1 since.
        if let page = value("page", from), page.equals("(null)") || page.hexValue() == 0 {
            failedAllocs += 1
            return
        }
        if pfn == UInt64.max { failedAllocs += 1; return }
        if pages.updateValue(UInt8(order), forKey: pfn) != nil {
            missingFrees += 1
            try pfree(pfn)
        }
        try out.beginEvent()
        try out.w.text("palloc p")
        try out.w.hexDigits(pfn)
        try out.w.byte(0x20)
        try out.w.decimal(UInt64(1) << order)
        if let text = value("migratetype", from) {
            guard let m = text.numberValue() else {
                throw fail(reader, "ftrace: mm_page_alloc: bad migratetype '\(text.text)' (expected a number)")
            }
            switch numbering.type(of: m) {
            case nil: otherMigrateTypes += 1
            case .unmovable?: break
            case let type?:
                try out.w.byte(0x20)
                try out.w.text(type.keyword)
            }
        }
        try out.endEvent()
    }

    private mutating func pageFree(_ reader: LineReader, _ from: Int, _ event: UnsafeBufferPointer<UInt8>) throws {
        let pfn = try number(reader, event, "pfn", from)
        guard let order = pages.removeValue(forKey: pfn) else {
            unknownFrees += 1
            return
        }
        if let o = value("order", from)?.numberValue(), o != UInt64(order) { orderMismatches += 1 }
        try pfree(pfn)
    }

    private mutating func pfree(_ pfn: UInt64) throws {
        try out.beginEvent()
        try out.w.text("pfree p")
        try out.w.hexDigits(pfn)
        try out.endEvent()
    }

    // MARK: Slab objects

    private mutating func kmalloc(_ reader: LineReader, _ from: Int, _ event: UnsafeBufferPointer<UInt8>) throws {
        guard let ptr = try pointer(reader, event, "ptr", from) else { failedAllocs += 1; return }
        var size = try number(reader, event, "bytes_req", from)
        if size == 0 { zeroSizes += 1; return }
        if size > Self.maxKmalloc { size = Self.maxKmalloc; clamped += 1 }
        try bind(ptr, -1)
        let site = try callSite(from)
        try out.beginEvent()
        try out.w.text("kmalloc o")
        try out.w.hexDigits(ptr)
        try out.w.byte(0x20)
        try out.w.decimal(size)
        try writeSite(site, allocated: value("bytes_alloc", from)?.numberValue())
        try out.endEvent()
    }

    private mutating func cacheAlloc(_ reader: LineReader, _ from: Int, _ event: UnsafeBufferPointer<UInt8>) throws {
        guard let ptr = try pointer(reader, event, "ptr", from) else { failedAllocs += 1; return }
        // The cache's object size as the caller asked (`s->object_size`);
        // the replay's variant rounds it as its kernel would.
        var size = value("bytes_req", from)?.numberValue() ?? 0
        if size == 0 { size = try number(reader, event, "bytes_alloc", from) }
        size = min(max(size, 1), Self.maxObject)
        let cache = try resolveCache(value("name", from), size: size)
        try bind(ptr, cache)
        let site = try callSite(from)
        try out.beginEvent()
        try out.w.text("salloc ")
        try writeName(cache)
        try out.w.text(" o")
        try out.w.hexDigits(ptr)
        try writeSite(site, allocated: value("bytes_alloc", from)?.numberValue())
        try out.endEvent()
    }

    private mutating func free(_ reader: LineReader, _ from: Int, _ event: UnsafeBufferPointer<UInt8>) throws {
        guard let ptr = try pointer(reader, event, "ptr", from) else {
            nullFrees += 1  // kfree(NULL) is legal and a no-op
            return
        }
        guard let binding = objects.removeValue(forKey: ptr) else {
            unknownFrees += 1
            return
        }
        try release(ptr, binding)
    }

    /// Records `ptr` as live in `cache` (-1: kmalloc), freeing a stale binding first.
    private mutating func bind(_ ptr: UInt64, _ cache: Int32) throws {
        if let old = objects.updateValue(cache, forKey: ptr) {
            missingFrees += 1
            try release(ptr, old)
        }
    }

    private mutating func release(_ ptr: UInt64, _ binding: Int32) throws {
        try out.beginEvent()
        if binding < 0 {
            try out.w.text("kfree o")
        } else {
            try out.w.text("sfree ")
            try writeName(binding)
            try out.w.text(" o")
        }
        try out.w.hexDigits(ptr)
        try out.endEvent()
    }

    /// The `call_site=` of the event as an address (0: none), announcing a
    /// symbolic one the first time it is seen.
    private mutating func callSite(_ from: Int) throws -> UInt64 {
        guard let v = value("call_site", from), v.count > 0 else { return 0 }
        if let a = v.hexValue() { return a < UInt64.max ? a : 0 }
        var h = fnv1a(Array(v)) & ~(1 << 63)
        if h == 0 { h = 1 }
        if namedSites.insert(h).inserted {
            try out.w.text("# site 0x")
            try out.w.hexDigits(h)
            try out.w.text(" is ")
            for c in v { try out.w.byte(c < 0x20 || c == 0x7F ? UInt8(ascii: "?") : c) }
            try out.w.newline()
        }
        return h
    }

    /// ` site=0x… alloc=N` (each when known).
    private func writeSite(_ site: UInt64, allocated: UInt64?) throws {
        if site != 0 {
            try out.w.text(" site=0x")
            try out.w.hexDigits(site)
        }
        if let allocated, allocated >= 1, allocated <= 1 << 31 {
            try out.w.text(" alloc=")
            try out.w.decimal(allocated)
        }
    }

    private func writeName(_ cache: Int32) throws {
        try caches[Int(cache)].name.withUnsafeBufferPointer { b in try out.w.bytes(b) }
    }

    /// The cache for `name=` (or the size when absent), declared on first sight
    /// unless it is one of the model's boot-time kmalloc caches.
    ///
    /// Names become memtrace names: bytes outside `[A-Za-z0-9_.:-]` turn into
    /// `_`, and at most 64 bytes are kept.
    private mutating func resolveCache(_ name: UnsafeBufferPointer<UInt8>?, size: UInt64) throws -> Int32 {
        scratch.removeAll(keepingCapacity: true)
        if let name, name.count > 0 {
            for c in name.prefix(SymbolTable.maxTokenLength) {
                scratch.append(isNameByte(c) ? c : UInt8(ascii: "_"))
            }
        } else {
            scratch.append(contentsOf: "slab-".utf8)
            scratch.append(contentsOf: String(size).utf8)
        }
        let hash = fnv1a(scratch)
        if let i = cacheIndex[hash], caches[Int(i)].name == scratch { return i }
        if let i = caches.firstIndex(where: { $0.name == scratch }) { return Int32(i) }  // hash collision
        let i = Int32(caches.count)
        caches.append((scratch, size))
        if cacheIndex[hash] == nil { cacheIndex[hash] = i }
        // The boot-time caches every variant has exist already: declaring
        // one is a trace error. The others (kmalloc-96 …) are declared,
        // which names the variant's own where it has one.
        if KmallocCaches.isCommonBootCache(scratch) { return i }
        try out.beginEvent()
        try out.w.text("cache ")
        try writeName(i)
        try out.w.byte(0x20)
        try out.w.decimal(size)
        try out.endEvent()
        return i
    }
}
