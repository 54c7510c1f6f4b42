import MemTrace

/// Page directories, page tables and the processes that own them.
extension Machine {
    // MARK: Kernel operations under their kernel names

    /// `load_cr3(dir)`: switch address spaces; the TLB keeps only global entries.
    mutating func load_cr3(_ dir: FrameNumber) {
        tables.activate(dir)
        translation.flushNonGlobal()
    }

    /// CR3 := the directory of process slot `s`: `load_cr3`, or under
    /// `--pcid` a load with the address space's PCID, which flushes only
    /// when the tag is new to it or behind its changes (``PCIDTags``).
    mutating func loadAddressSpace(_ s: Int32) {
        guard translation.tagged else { return load_cr3(processes[Int(s)].directory!) }
        tables.activate(processes[Int(s)].directory!)
        translation.switchContext(processes[Int(s)].context, gen: processes[Int(s)].tlbGen)
    }

    /// Mappings of process slot `s` changed while it does not run. Without
    /// PCIDs its entries left the TLB when it was switched out; with them
    /// they may still be there under its tag, and the next switch to it
    /// flushes the tag (Linux's `inc_mm_tlb_gen()`, see ``PCIDTags``).
    mutating func changedOffCPU(_ s: Int32) {
        if translation.tagged && s != processes.current { processes[Int(s)].tlbGen += 1 }
    }

    /// `invlpg`: drop one page's TLB entries.
    @inline(__always)
    mutating func invlpg(_ va: UInt32) { translation.invalidate(VirtualPage(containing: va)) }

    /// `map_page_dir(dir, virt, phys, flags)`: sets the PTE of `virt` in
    /// directory `dir`, allocating the page table if the directory entry is
    /// empty. Kernel-space tables are shared: a new one is entered in every
    /// directory. Returns false when no frame could be had for the table.
    mutating func map_page_dir(_ dir: FrameNumber, _ virt: UInt32, _ phys: FrameNumber, _ flags: PTEFlags) -> Bool {
        guard let table = ensureTable(dir, virt) else { return false }
        tables.write(table, Paging.tableIndex(virt), PTE.make(phys, flags))
        return true
    }

    /// The page table covering `virt` in `dir`, allocated if missing.
    mutating func ensureTable(_ dir: FrameNumber, _ virt: UInt32) -> FrameNumber? {
        let di = Paging.directoryIndex(virt)
        let pde = tables[dir, di]
        if pde.isPresent { return pde.frame }
        guard let table = pmm_alloc_page(for: .pageTable) else { return nil }
        tables.attach(table)
        if virt >= Paging.userEnd {
            let entry = PTE.make(table, [.present, .writable])
            for p in processes.indices where processes[p].alive {
                if let d = processes[p].directory { tables.write(d, di, entry) }
            }
        } else {
            tables.write(dir, di, PTE.make(table, [.present, .writable, .user]))
        }
        return table
    }

    /// A fresh directory: kernel entries shared, entry 1023 pointing at itself.
    mutating func createDirectory() -> FrameNumber? {
        guard let dir = pmm_alloc_page(for: .directory) else { return nil }
        tables.attach(dir)
        var di = tables.nextPresent(in: kernelDirectory, after: Paging.kernelSlots.lowerBound - 1)
        while di < Paging.kernelSlots.upperBound {
            tables.write(dir, di, tables[kernelDirectory, di])
            di = tables.nextPresent(in: kernelDirectory, after: di)
        }
        tables.write(dir, Paging.recursiveSlot, PTE.make(dir, [.present, .writable]))
        return dir
    }

    // MARK: spawn, fork, exit, switch

    /// A process's home NUMA node: `node=K` on `spawn`, else PID mod N.
    func homeNode(_ pid: PID) -> Int { Int(pid % PID(frames.physical.count)) }

    mutating func spawn(_ pid: PID, node: Int32? = nil) throws(ModelError) {
        guard processes.slot(of: pid) == nil else { throw ModelError("spawn: PID \(pid) already exists") }
        if let node, Int(node) >= frames.physical.count {
            throw ModelError("spawn: node \(node) does not exist (the machine has \(frames.physical.count) node\(frames.physical.count == 1 ? "" : "s"))")
        }
        var p = Process(pid: pid, parent: nil, directory: nil, spawnedTick: tick)
        p.node = node.map(Int.init) ?? homeNode(pid)
        let running = preferredNode
        preferredNode = p.node
        p.directory = createDirectory()  // nil: the process failed
        preferredNode = running
        processes.add(p)
    }

    /// Copy-on-write fork: the child gets a copy of every user page table;
    /// private writable pages become read-only + COW in both.
    mutating func fork(_ parentPID: PID, _ childPID: PID) throws(ModelError) {
        let ps = try requireProcess(parentPID, "fork")
        guard processes.slot(of: childPID) == nil else { throw ModelError("fork: child PID \(childPID) already exists") }
        var child = Process(pid: childPID, parent: parentPID, directory: nil, spawnedTick: tick)
        child.node = homeNode(childPID)
        let parent = processes[Int(ps)]
        // The child's directory and tables come from the child's node.
        let running = preferredNode
        preferredNode = child.node
        defer { preferredNode = running }
        var userTables = 0
        if let pdir = parent.directory {
            var di = tables.nextPresent(in: pdir, after: -1)
            while di < Paging.userSlots {
                if !tables[pdir, di].has(.pageSize) { userTables += 1 }
                di = tables.nextPresent(in: pdir, after: di)
            }
        }
        // A directory and one table per parent table: take them all or fail whole.
        guard let pdir = parent.directory, reserveFree(1 + userTables) else {
            if !parent.failed { reclaim.counters.oom += 1 }
            processes.add(child)  // failed: no directory
            return
        }
        let cdir = createDirectory()!
        child.directory = cdir
        child.regions = parent.regions
        for i in child.regions.indices where child.regions[i].isPrivateWritable {
            child.regions[i].cow = true
            processes[Int(ps)].regions[i].cow = true
        }
        for r in child.regions where r.segment >= 0 { segments[Int(r.segment)]!.regions += 1 }
        var di = tables.nextPresent(in: pdir, after: -1)
        while di < Paging.userSlots {
            if tables[pdir, di].has(.pageSize) {
                // A 4 MiB page: the child shares it, copy-on-write if private and writable.
                var e = tables[pdir, di]
                if e.has(.writable), isPrivateWritable(parent.regions, UInt32(di) << 22) {
                    e = e.with(.cow, without: .writable)
                    tables.write(pdir, di, e)
                }
                tables.write(cdir, di, e)
                addHugeReference(e.frame)
                child.resident += Paging.hugeFrames
                di = tables.nextPresent(in: pdir, after: di)
                continue
            }
            let ptable = tables[pdir, di].frame
            let ctable = pmm_alloc_page(for: .pageTable)!
            tables.attach(ctable)
            tables.write(cdir, di, PTE.make(ctable, [.present, .writable, .user]))
            // Writable private pages become copy-on-write in both. The
            // region of the last such page is tried first: a table's pages
            // mostly lie in one region.
            let regions = parent.regions
            var last = -1
            child.resident += tables.copyTable(from: ptable, to: ctable, refcount: &frames.refcount) { ti, e in
                guard e.has(.writable) else { return e }
                let va = UInt32(di) << 22 | UInt32(ti) << 12
                if last < 0 || !regions[last].contains(va) {
                    guard let r = regionIndex(regions, va) else { return e }
                    last = r
                }
                return regions[last].isPrivateWritable ? e.with(.cow, without: .writable) : e
            }
            di = tables.nextPresent(in: pdir, after: di)
        }
        child.peakResident = child.resident
        processes.add(child)
        // The parent's writable entries may be cached: fork flushes them
        // (`dup_mmap()`'s `flush_tlb_mm()`): a CR3 reload, or under --pcid
        // a flush of the parent's tag, now or when it next runs.
        if ps == processes.current {
            if translation.tagged {
                processes[Int(ps)].tlbGen += 1
                translation.flushCurrent(gen: processes[Int(ps)].tlbGen)
            } else {
                load_cr3(currentDirectory)
            }
        } else {
            changedOffCPU(ps)
        }
    }

    /// Tears an address space down: every user page, table and the directory.
    mutating func exit(_ pid: PID) throws(ModelError) {
        guard pid != 0 else { throw ModelError("exit: PID 0 is the kernel and cannot exit") }
        let s = try requireProcess(pid, "exit")
        let p = processes[Int(s)]
        processes.remove(slot: s)
        guard let dir = p.directory else { return }
        var di = tables.nextPresent(in: dir, after: -1)
        while di < Paging.userSlots {
            if tables[dir, di].has(.pageSize) {
                dropHugeReference(tables[dir, di].frame)
                di = tables.nextPresent(in: dir, after: di)
                continue
            }
            let table = tables[dir, di].frame
            var ti = tables.nextPresent(in: table, after: -1)
            while ti < 1024 {
                frames.dropReference(tables[table, ti].frame)
                ti = tables.nextPresent(in: table, after: ti)
            }
            tables.detach(table)
            pmm_free_page(table)
            di = tables.nextPresent(in: dir, after: di)
        }
        for r in p.regions where r.segment >= 0 { detachSegment(r.segment) }
        let rec = record(p, exited: true)
        processes.finished.append(rec)
        if s == processes.current {
            processes.current = 0
            processes.currentPID = 0
            preferredNode = 0
            loadAddressSpace(0)
            processes.counters.switches += 1
        }
        tables.detach(dir)
        pmm_free_page(dir)
    }

    /// `switch PID`: `load_cr3` of its directory. Switching to the running
    /// process changes nothing (Linux's `switch_mm` skips the same mm).
    @inline(__always)
    /// An access by another PID switches first; `statement` names the
    /// access in the error for an unknown PID.
    mutating func switchTo(_ pid: PID, for statement: AccessKind? = nil) throws(ModelError) {
        guard pid != processes.currentPID else { return }
        guard let s = processes.slot(of: pid) else {
            throw ModelError("\(statement?.keyword ?? "switch"): unknown PID \(pid)")
        }
        guard processes[Int(s)].directory != nil else { return }
        processes.current = s
        processes.currentPID = pid
        preferredNode = processes[Int(s)].node
        loadAddressSpace(s)
        processes.counters.switches += 1
    }
}

/// Whether `va` lies in a private (not shared) writable region: the pages fork makes COW.
func isPrivateWritable(_ regions: [Region], _ va: UInt32) -> Bool {
    for r in regions where r.contains(va) { return r.isPrivateWritable }
    return false
}

/// The index of the region containing `va`, if any (no closure: generic-free hot path).
@inline(__always)
func regionIndex(_ regions: [Region], _ va: UInt32) -> Int? {
    var i = 0
    while i < regions.count {
        if regions[i].contains(va) { return i }
        i += 1
    }
    return nil
}
