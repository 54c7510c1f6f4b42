/// `--check`: the model's invariants, verified across every structure.
extension Machine {
    /// The first broken invariant, described, or `nil` when all hold.
    ///
    /// - Complexity: O(frames + page-table entries + objects); meant for
    ///   checking runs, not for the measured replay loop.
    public func invariantViolation() -> String? {
        // Frames per use, counted in the frame table's one pass and checked against each structure below.
        let (broken, framesFor) = frames.invariantViolation()
        if let broken { return broken }
        if let v = tables.invariantViolation() { return "page tables: \(v)" }
        if processes[Int(processes.current)].directory != currentDirectory {
            return "CR3 holds frame \(currentDirectory), not the directory of the running PID \(processes.currentPID)"
        }
        let use = frames.use, refcount = frames.refcount

        // Expected owners of every mapped frame, from the structures that hold them.
        var owners = [UInt32](repeating: 0, count: use.count)
        var tableFrames = 0
        var directories: [FrameNumber] = []
        for (s, p) in processes.all.enumerated() where p.alive {
            guard let dir = p.directory else { continue }
            directories.append(dir)
            guard use[dir.index] == .directory, tables.isTable(dir) else { return "PID \(p.pid): directory frame \(dir) is not an allocated directory" }
            guard tables[dir, Paging.recursiveSlot] == PTE.make(dir, [.present, .writable]) else {
                return "PID \(p.pid): directory entry 1023 does not point at the directory itself"
            }
            tableFrames += 1
            var resident = 0
            var di = tables.nextPresent(in: dir, after: -1)
            while di < Paging.userSlots {
                defer { di = tables.nextPresent(in: dir, after: di) }
                let pde = tables[dir, di]
                if pde.has(.pageSize) {
                    // A 4 MiB page: 1024 aligned anonymous frames, each owned
                    // once more; the recursive window shows the directory entry.
                    let base = pde.frame.index
                    guard base % Paging.hugeFrames == 0, base + Paging.hugeFrames <= use.count else {
                        return "PID \(p.pid): directory entry \(di) maps a 4 MiB page at frame \(base), not 1024-aligned in memory"
                    }
                    for f in base ..< base + Paging.hugeFrames {
                        guard use[f] == .anonymous else { return "PID \(p.pid): 4 MiB page at 0x\(hex(UInt32(di) << 22)) maps frame \(f), which is \(use[f])" }
                        owners[f] += 1
                    }
                    guard refcount[base ..< base + Paging.hugeFrames].allSatisfy({ $0 == refcount[base] }) else {
                        return "PID \(p.pid): the frames of the 4 MiB page at frame \(base) have different reference counts"
                    }
                    guard p.regions.contains(where: { $0.huge && $0.contains(UInt32(di) << 22) }) else {
                        return "PID \(p.pid): 4 MiB page at 0x\(hex(UInt32(di) << 22)) outside any huge region"
                    }
                    if pde.has(.writable) && refcount[base] > 1 {
                        return "PID \(p.pid): 4 MiB page at 0x\(hex(UInt32(di) << 22)) is writable but mapped \(refcount[base]) times (a fork that did not make it copy-on-write)"
                    }
                    resident += Paging.hugeFrames
                    // Through the recursive window, the page where this
                    // directory entry's table would be shows the entry
                    // itself: a walk via entry 1023 reads it as a PTE.
                    guard tables.walk(dir, Paging.recursiveBase &+ UInt32(di) << 12) == pde else {
                        return "PID \(p.pid): the recursive window's page for directory entry \(di) does not show its 4 MiB entry"
                    }
                    continue
                }
                let table = pde.frame
                guard use[table.index] == .pageTable, tables.isTable(table) else {
                    return "PID \(p.pid): directory entry \(di) points at frame \(table), which is not an allocated page table"
                }
                tableFrames += 1
                var ti = tables.nextPresent(in: table, after: -1)
                while ti < 1024 {
                    defer { ti = tables.nextPresent(in: table, after: ti) }
                    let e = tables[table, ti]
                    let va = UInt32(di) << 22 | UInt32(ti) << 12
                    let f = e.frame
                    guard [.anonymous, .handle, .segment].contains(use[f.index]) else {
                        return "PID \(p.pid): 0x\(hex(va)) maps frame \(f), which is \(use[f.index])"
                    }
                    owners[f.index] += 1
                    resident += 1
                    if s == Int(processes.current) {
                        // The recursive window must land on this very entry.
                        guard let hit = tables.resolve(dir, Paging.recursivePTEAddress(va)),
                              hit.frame == table, hit.offset == ti * 4 else {
                            return "PID \(p.pid): the recursive window for 0x\(hex(va)) does not resolve to its PTE (table \(table), entry \(ti))"
                        }
                    }
                }
            }
            if resident != p.resident { return "PID \(p.pid): \(resident) present user pages but resident count \(p.resident)" }
            for di in Paging.kernelSlots where tables[dir, di] != tables[kernelDirectory, di] {
                return "PID \(p.pid): kernel directory entry \(di) differs from the kernel's"
            }
        }
        for di in Paging.kernelSlots {
            let pde = tables[kernelDirectory, di]
            guard pde.isPresent else { continue }
            let table = pde.frame
            guard use[table.index] == .pageTable, tables.isTable(table) else { return "kernel directory entry \(di) points at a frame that is not a page table" }
            tableFrames += 1
            var ti = tables.nextPresent(in: table, after: -1)
            while ti < 1024 {
                owners[tables[table, ti].frame.index] += 1
                ti = tables.nextPresent(in: table, after: ti)
            }
        }
        if directories.count != processes.live { return "\(processes.live) live processes counted, \(directories.count) address spaces" }
        if tableFrames != tables.tableFrames { return "\(tables.tableFrames) table frames counted, \(tableFrames) reachable" }
        for (h, b) in handles.enumerated() {
            guard case let .frames(base, count, _) = b else { continue }
            for f in base.index..<base.index + Frames.footprint(Int(count)) {
                guard use[f] == .handle else { return "handle #\(h): frame \(f) is \(use[f])" }
                owners[f] += 1
            }
        }
        for seg in segments {
            guard let seg else { continue }
            for case let f? in seg.frames { owners[f.index] += 1 }
        }
        for f in 0..<use.count where [.anonymous, .handle, .segment].contains(use[f]) {
            if owners[f] != refcount[f] {
                return "frame \(f) (\(use[f])) has reference count \(refcount[f]) but \(owners[f]) owners (mappings + handle/segment)"
            }
            if owners[f] == 0 { return "frame \(f) (\(use[f])) is allocated but nothing owns it" }
        }

        // Every cached translation must be what a walk finds now: in the
        // running address space, or under --pcid in the address space that
        // holds the entry's tag, unless that one exited or its tag is
        // behind (flushed before it can be used again).
        var contexts: [UInt64: (directory: FrameNumber, tlbGen: UInt64)] = [:]
        if translation.tagged {
            for p in processes.all where p.alive { if let d = p.directory { contexts[p.context] = (d, p.tlbGen) } }
        }
        func directory(_ tag: Int, global: Bool) -> FrameNumber? {
            guard translation.tagged, !global else { return currentDirectory }
            guard let (dir, gen) = contexts[translation.pcids.context[tag]] else { return nil }
            return gen > translation.pcids.generation[tag] ? nil : dir
        }
        for (key, cached) in translation.pdeCache.validEntries where translation.hasPDECache {
            let (di, tag) = (Int(key.number & 0x3FF), Int(key.number >> 20))
            guard let dir = directory(tag, global: false) else { continue }
            if tables[dir, di] != cached {
                return "PDE cache entry for directory entry \(di)\(translation.tagged ? " (PCID \(tag))" : "") caches 0x\(hex(cached.raw)) but the directory holds 0x\(hex(tables[dir, di].raw)) (a missing invlpg or flush)"
            }
        }
        if let v = translation.pdeCache.invariantViolation() { return "PDE cache: \(v)" }
        for (key, cached) in translation.large.validEntries {
            let (di, tag) = (Int(key.number & 0x3FF), Int(key.number >> 20))
            guard let dir = directory(tag, global: false) else { continue }
            if tables[dir, di] != cached || !cached.has(.pageSize) {
                return "large-page TLB entry for 0x\(hex(UInt32(di) << 22))\(translation.tagged ? " (PCID \(tag))" : "") caches 0x\(hex(cached.raw)) but the directory holds 0x\(hex(tables[dir, di].raw)) (a missing invlpg or flush)"
            }
        }
        if let v = translation.large.invariantViolation() { return "large-page TLB: \(v)" }
        for (name, t) in translation.named {
            if let v = t.invariantViolation() { return "\(name): \(v)" }
            for (key, cached) in t.validEntries {
                let (page, tag) = Translation<Replacement>.page(ofKey: key)
                guard let dir = directory(tag, global: Translation<Replacement>.isGlobalKernelPage(page)) else { continue }
                let now = tables.walk(dir, page.address)
                if now != cached {
                    return "\(name) entry for page 0x\(hex(page.address))\(key == page ? "" : " (PCID \(key.number >> 20))") caches PTE 0x\(hex(cached.raw)) but the tables hold 0x\(hex(now.raw)) (a missing invlpg or flush)"
                }
            }
        }

        // Miss-ratio curves: the stacks' bookkeeping, and an LRU TLB holds
        // exactly what its shape's stack says it holds.
        if let v = translation.curveInvariantViolation() { return v }
        if let v = pageCache.curve?.invariantViolation() { return v }

        // Slab: the variant's structures, bound objects, frames.
        if let v = slab.invariantViolation() { return v }
        let slabUse = framesFor[Int(FrameUse.slab.rawValue)]
        let slabFrames = slab.totals.pages
        if slabUse != slabFrames { return "\(slabUse) frames belong to slabs, the caches hold \(slabFrames)" }
        var large = 0
        for case let .large(_, n) in slab.objects { large += Frames.footprint(Int(n)) }
        let largeUse = framesFor[Int(FrameUse.kmallocLarge.rawValue)]
        if large != largeUse || large != slab.kmallocLargeFrames {
            return "kmalloc: \(large) large-object frames bound, \(largeUse) in use, \(slab.kmallocLargeFrames) counted"
        }

        // Page cache.
        if let v = pageCache.invariantViolation() { return v }
        let cacheFrames = pageCache.frames
        for f in cacheFrames where use[f.index] != .pageCache { return "page cache holds frame \(f), which is \(use[f.index])" }
        let pcUse = framesFor[Int(FrameUse.pageCache.rawValue)]
        if pcUse != cacheFrames.count { return "\(pcUse) frames belong to the page cache, it holds \(cacheFrames.count)" }

        let dirUse = framesFor[Int(FrameUse.directory.rawValue)]
        if dirUse != directories.count { return "\(dirUse) directory frames allocated, \(directories.count) live address spaces" }
        if compaction.mode != .off, let v = ReverseMap(self).violation(use: use, refcount: refcount) { return "reverse map: \(v)" }
        return nil
    }
}
