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
            if kind == .write && pte.has(.cow) { return cowFault(va, pte) }
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
