import MemTrace

/// `r`/`w`/`x`: the TLB, page walks, demand paging and copy-on-write.
extension Machine {
    /// One memory access: a TLB lookup of its page; on a miss a walk, which
    /// fills the TLB when the PTE is present; then the x86 permission check
    /// (present, user, writable — no execute bit), faulting if it fails.
    ///
    /// A hit of the running process passes here and in ``translate(_:_:)``
    /// alone; a switch, a miss and a fault leave for calls of their own.
    /// (Marked for inlining into the replay loop; in release builds the
    /// loop's specializations are merged and call it, see the README.)
    @inline(__always)
    mutating func access(_ kind: AccessKind, _ pid: PID, _ va: UInt32) throws(ModelError) {
        guard pid == processes.currentPID else { return try accessSwitching(kind, pid, va) }
        translate(kind, va)
    }

    /// The accesses of `batch[start ..< end]` up to the first event that is
    /// not an access of the running process, each as ``access(_:_:_:)``
    /// does it (they need no switch); counted in `events`. Returns how many
    /// it applied. The replay loop hands a run of accesses over in one call,
    /// so the hit path is inlined here instead of called per event (in the
    /// loop the compiler calls it: see the README's performance section).
    @inline(never)
    mutating func accessRun(_ batch: UnsafePointer<Event>, _ start: Int, _ end: Int) -> Int {
        var i = start
        while i < end {
            // A fault may end the running process (a SIGSEGV kills it): the
            // PID is read again for every access.
            guard case let .access(kind, pid, va) = batch[i], pid == processes.currentPID else { break }
            translate(kind, va)
            i &+= 1
        }
        events &+= i &- start
        return i &- start
    }

    /// An access by another process than the running one: the switch first.
    @inline(never)
    mutating func accessSwitching(_ kind: AccessKind, _ pid: PID, _ va: UInt32) throws(ModelError) {
        try switchTo(pid, for: kind)
        if pid != processes.currentPID { return }  // a process whose creation failed
        translate(kind, va)
    }

    /// The running process's access: the TLB, then on a miss the walk.
    @inline(__always)
    mutating func translate(_ kind: AccessKind, _ va: UInt32) {
        guard let pte = translation.lookup(VirtualPage(containing: va), kind) else {
            return accessMiss(kind, va)
        }
        check(kind, va, pte)
    }

    /// A TLB miss: the walk, a fill if the PTE is present, the check.
    ///
    /// The walk reads the directory entry, unless the PDE cache holds it
    /// (`--pde-cache`), then the PTE if the directory entry is present;
    /// each read is one memory reference (`walk_refs`). The faulting
    /// access's retry after a page fault is not walked again here (the
    /// fault handler fills the TLB), as it is not looked up again.
    @inline(never)
    mutating func accessMiss(_ kind: AccessKind, _ va: UInt32) {
        let pde: PTE
        if let cached = translation.cachedDirectoryEntry(va) {
            pde = cached
        } else {
            pde = tables.activeDirectoryEntry(va)
            translation.readDirectoryEntry(va, pde)
        }
        var pte = PTE.none
        if pde.isPresent {
            if pde.has(.pageSize) {
                // A 4 MiB page: the directory entry is the translation.
                translation.fillLarge(va, pde)
                return check(kind, va, pde.page(in: va))
            }
            pte = tables.tableEntry(pde, va)
            translation.readTableEntry()
        }
        if pte.isPresent { translation.fill(VirtualPage(containing: va), pte, kind) }
        check(kind, va, pte)
    }

    /// The permission check of x86 (present; user pages in user mode;
    /// writable for a write), then the fault or the NUMA count.
    @inline(__always)
    mutating func check(_ kind: AccessKind, _ va: UInt32, _ pte: PTE) {
        let userMode = processes.currentPID != 0
        let allowed = pte.isPresent
            && (!userMode || pte.has(.user))
            && (kind != .write || pte.has(.writable))
        if !allowed {
            pageFault(kind, va, pte)
        } else if nodeCount > 1 {
            countNodeAccess(pte.frame)
        }
    }

    /// Local or remote, by the frame's node against the process's home node.
    @inline(never)
    mutating func countNodeAccess(_ frame: FrameNumber) {
        guard nodeCount > 1 else { return }
        let home = processes[Int(processes.current)].node
        if frames.node(of: frame) == home {
            nodeCounters[home].localAccesses += 1
        } else {
            nodeCounters[home].remoteAccesses += 1
        }
    }

    /// The page-fault handler.
    @inline(never)
    mutating func pageFault(_ kind: AccessKind, _ va: UInt32, _ pte: PTE) {
        processes.counters.pageFaults += 1
        processes[Int(processes.current)].faults += 1
        guard va < Paging.userEnd,
              let ri = regionIndex(processes[Int(processes.current)].regions, va) else {
            return segv()
        }
        let r = processes[Int(processes.current)].regions[ri]
        if pte.isPresent {
            if kind == .write && pte.has(.cow) { return pte.has(.pageSize) ? hugeCowFault(va) : cowFault(va, pte) }
            return segv()
        }
        guard r.allows(kind) else { return segv() }
        demandFault(va, r, kind)
    }

    mutating func segv() {
        processes.counters.segv += 1
        processes[Int(processes.current)].segv += 1
    }

    /// Maps a zeroed frame, or the shared segment's frame for this page. The
    /// page table comes first, as in Linux (`pte_alloc` before the page).
    mutating func demandFault(_ va: UInt32, _ r: Region, _ kind: AccessKind) {
        processes.counters.demandFaults += 1
        let dir = currentDirectory
        if r.huge && !tables[dir, Paging.directoryIndex(va)].isPresent {
            if hugeFault(va, r) { return }
        }
        guard let table = ensureTable(dir, va) else { return }
        let frame: FrameNumber
        if r.segment >= 0 {
            let page = Int((va - r.start) >> 12)
            if let existing = segments[Int(r.segment)]!.frames[page] {
                frame = existing
            } else {
                guard let f = pmm_alloc_page(for: .segment) else { return }
                frames.refcount[f.index] = 1  // the segment's own reference
                segments[Int(r.segment)]!.frames[page] = f
                frame = f
            }
        } else {
            guard let f = pmm_alloc_page(for: .anonymous) else { return }
            frame = f
        }
        var flags: PTEFlags = [.present, .user]
        if r.perms.contains(.write) { flags.insert(.writable) }
        let pte = PTE.make(frame, flags)
        tables.write(table, Paging.tableIndex(va), pte)
        frames.addReference(frame)
        processes[Int(processes.current)].resident += 1
        if processes[Int(processes.current)].resident > processes[Int(processes.current)].peakResident {
            processes[Int(processes.current)].peakResident = processes[Int(processes.current)].resident
        }
        // The faulting access is retried: its walk fills the TLB.
        translation.fill(VirtualPage(containing: va), pte, kind)
        countNodeAccess(frame)
    }

    /// A write to a read-only COW page: copy the frame unless this mapping is
    /// its only reference, make the PTE writable, `invlpg`.
    mutating func cowFault(_ va: UInt32, _ pte: PTE) {
        processes.counters.cowFaults += 1
        processes[Int(processes.current)].cowFaults += 1
        let old = pte.frame
        let table = tables[currentDirectory, Paging.directoryIndex(va)].frame
        let updated: PTE
        if frames.refcount[old.index] == 1 {
            updated = pte.with(.writable, without: .cow)
        } else {
            guard let f = pmm_alloc_page(for: .anonymous) else { return }
            frames.refcount[f.index] = 1
            frames.dropReference(old)
            processes.counters.cowCopies += 1
            updated = PTE.make(f, [.present, .user, .writable])
        }
        tables.write(table, Paging.tableIndex(va), updated)
        invlpg(va)
        translation.fill(VirtualPage(containing: va), updated, .write)
        countNodeAccess(updated.frame)
    }

    // MARK: 4 MiB pages

    /// A demand fault in a `huge` region whose directory entry is empty:
    /// 1024 free frames aligned to 4 MiB mapped by one directory entry with
    /// PS set. Taken only if free now (no reclaim, no compaction: THP's
    /// fault with `defrag` off, `do_huge_pmd_anonymous_page()` in Linux's
    /// mm/huge_memory.c, falls back the same way); false, and the fault
    /// maps a 4 KiB page instead, counted, when none can be had.
    mutating func hugeFault(_ va: UInt32, _ r: Region) -> Bool {
        guard let base = takeHugePage() else {
            processes.counters.hugeFallbacks += 1
            return false
        }
        processes.counters.hugeFaults += 1
        var flags: PTEFlags = [.present, .user, .pageSize]
        if r.perms.contains(.write) { flags.insert(.writable) }
        let pde = PTE.make(base, flags)
        tables.write(currentDirectory, Paging.directoryIndex(va), pde)
        processes[Int(processes.current)].resident += Paging.hugeFrames
        processes[Int(processes.current)].peakResident = max(processes[Int(processes.current)].peakResident, processes[Int(processes.current)].resident)
        translation.fillLarge(va, pde)
        countNodeAccess(pde.page(in: va).frame)
        return true
    }

    /// 1024 free frames at a 4 MiB boundary, each with the one reference
    /// of the mapping the caller makes, or nil: asked only of
    /// allocators that align their blocks (``FrameAllocator/alignsBlocks``);
    /// a block that comes back unaligned all the same (a node whose first
    /// frame is not a multiple of 1024) goes back.
    mutating func takeHugePage() -> FrameNumber? {
        let first = firstChoiceNode()
        guard let (f, k) = frames.takeAligned(Paging.hugeFrames, for: .anonymous, type: .movable, preferred: first) else { return nil }
        if k != first { nodeCounters[k].fallbackAllocations += 1 }
        addHugeReference(f)  // the mapping the caller makes
        return f
    }

    /// A write to a copy-on-write 4 MiB page: made writable if this mapping
    /// is its only one, else copied whole into a new 4 MiB page
    /// (`do_huge_pmd_wp_page()`). Without 1024 free aligned frames the
    /// write fails, counted as a fallback (Linux splits the mapping and
    /// copies one 4 KiB page; the model does not split).
    mutating func hugeCowFault(_ va: UInt32) {
        processes.counters.cowFaults += 1
        processes[Int(processes.current)].cowFaults += 1
        let di = Paging.directoryIndex(va)
        let pde = tables[currentDirectory, di]
        let old = pde.frame
        let updated: PTE
        if frames.refcount[old.index] == 1 {
            updated = pde.with(.writable, without: .cow)
        } else {
            guard let base = takeHugePage() else {
                processes.counters.hugeFallbacks += 1
                return
            }
            dropHugeReference(old)
            processes.counters.cowCopies += 1
            updated = PTE.make(base, [.present, .user, .writable, .pageSize])
        }
        tables.write(currentDirectory, di, updated)
        invlpg(va)
        invlpg(Paging.recursiveBase &+ UInt32(di) << 12)  // the entry as the recursive window shows it
        translation.fillLarge(va, updated)
        countNodeAccess(updated.page(in: va).frame)
    }

    /// One more mapping of the 4 MiB page at `base` (fork).
    mutating func addHugeReference(_ base: FrameNumber) {
        for i in 0 ..< Paging.hugeFrames { frames.refcount[base.index + i] += 1 }
    }

    /// One mapping fewer of the 4 MiB page at `base`; with the last, its
    /// 1024 frames go back as one block. (Its frames' counts move together.)
    mutating func dropHugeReference(_ base: FrameNumber) {
        for i in 0 ..< Paging.hugeFrames { frames.refcount[base.index + i] -= 1 }
        if frames.refcount[base.index] == 0 { frames.release(base, Paging.hugeFrames) }
    }

    /// `map` and `unmap` work on 4 KiB pages: an address in a 4 MiB page is an error.
    func refuseHugePage(_ dir: FrameNumber, _ va: UInt32, _ statement: String, _ pid: PID) throws(ModelError) {
        let pde = tables[dir, Paging.directoryIndex(va)]
        if pde.isPresent && pde.has(.pageSize) {
            throw ModelError("\(statement): 0x\(hex(va)) lies in a 4 MiB page of PID \(pid) (a huge region: munmap it whole)")
        }
    }

    // MARK: Explicit mappings

    /// `map PID VADDR H PERMS`: `map_page_dir` of the handle's first frame.
    /// Kernel-space addresses go to the shared kernel tables, global in the TLB.
    mutating func map(_ pid: PID, _ va: UInt32, _ h: Symbol, _ perms: Perms) throws(ModelError) {
        let s = try requireProcess(pid, "map")
        let base: FrameNumber
        switch handle(h) {
        case .unbound: throw ModelError("map: handle %s is not allocated", (.handle, h))
        case .failed: return
        case .frames(let b, _, _): base = b
        }
        guard let userDirectory = processes[Int(s)].directory else { return }
        let kernel = va >= Paging.userEnd
        let dir = kernel ? kernelDirectory : userDirectory
        try refuseHugePage(dir, va, "map", pid)
        if tables.walk(dir, va).isPresent { unmapPage(s, va) }
        var flags: PTEFlags = [.present]
        if perms.contains(.write) { flags.insert(.writable) }
        flags.insert(kernel ? .global : .user)
        guard map_page_dir(dir, va, base, flags) else { return }
        frames.addReference(base)
        if !kernel {
            processes[Int(s)].resident += 1
            processes[Int(s)].peakResident = max(processes[Int(s)].peakResident, processes[Int(s)].resident)
        }
    }

    /// `unmap PID VADDR`: clear the PTE and `invlpg`; the frame stays with its handle.
    mutating func unmap(_ pid: PID, _ va: UInt32) throws(ModelError) {
        let s = try requireProcess(pid, "unmap")
        guard !processes[Int(s)].failed else { return }
        if va < Paging.userEnd { try refuseHugePage(processes[Int(s)].directory!, va, "unmap", pid) }
        unmapPage(s, va)
    }

    mutating func unmapPage(_ s: Int32, _ va: UInt32) {
        let kernel = va >= Paging.userEnd
        guard let dir = kernel ? kernelDirectory : processes[Int(s)].directory else { return }
        let pde = tables[dir, Paging.directoryIndex(va)]
        guard pde.isPresent else { return }
        let e = tables[pde.frame, Paging.tableIndex(va)]
        guard e.isPresent else { return }
        tables.write(pde.frame, Paging.tableIndex(va), .none)
        if kernel || s == processes.current { invlpg(va) } else { changedOffCPU(s) }
        if !kernel { processes[Int(s)].resident -= 1 }
        frames.dropReference(e.frame)
    }
}
