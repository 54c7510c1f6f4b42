import MemTrace

/// `mmap` / `munmap`: the `vm_region_t` list of a process, and shared segments.
extension Machine {
    mutating func mmap(_ pid: PID, start: UInt32, end: UInt32, perms: Perms, shared: Symbol?, huge: Bool = false) throws(ModelError) {
        let s = try requireProcess(pid, "mmap")
        if huge && shared != nil {
            throw ModelError("mmap: a shared region cannot be huge (the model maps shared segments in 4 KiB pages)")
        }
        guard !processes[Int(s)].failed else { return }
        for r in processes[Int(s)].regions where start < r.end && r.start < end {
            throw ModelError("mmap: [0x\(hex(start)), 0x\(hex(end))) overlaps region [0x\(hex(r.start)), 0x\(hex(r.end))) of PID \(pid)")
        }
        let pages = Int((end - start) >> 12)
        var segment: Int32 = -1
        if let id = shared {
            if id.index < segments.count, let seg = segments[id.index], seg.pages != pages {
                throw ModelError("mmap: shared segment %s is \(seg.pages) pages long; this region is \(pages)", (.segment, id))
            }
        }
        guard processes[Int(s)].regions.count < Region.maxPerProcess else {
            processes.counters.regionFailures += 1
            return
        }
        if let id = shared {
            if id.index >= segments.count {
                segments.append(contentsOf: repeatElement(nil, count: id.index + 1 - segments.count))
            }
            if segments[id.index] == nil {
                segments[id.index] = Segment(pages: pages, frames: Array(repeating: nil, count: pages), regions: 0)
            }
            segments[id.index]!.regions += 1
            segment = id.raw
        }
        processes[Int(s)].regions.append(Region(start: start, end: end, perms: perms, cow: false, segment: segment, huge: huge))
    }

    mutating func munmap(_ pid: PID, start: UInt32) throws(ModelError) {
        let s = try requireProcess(pid, "munmap")
        guard !processes[Int(s)].failed else { return }
        guard let i = processes[Int(s)].regions.firstIndex(where: { $0.start == start }) else {
            throw ModelError("munmap: PID \(pid) has no region starting at 0x\(hex(start))")
        }
        let r = processes[Int(s)].regions.remove(at: i)
        unmapRange(s, r.start, r.end, freeEmptyTables: true)
        if r.segment >= 0 { detachSegment(r.segment) }
    }

    /// Unmaps every present page of `[start, end)` in process slot `s`; with
    /// `freeEmptyTables`, page tables left empty go back to the allocator.
    mutating func unmapRange(_ s: Int32, _ start: UInt32, _ end: UInt32, freeEmptyTables: Bool) {
        guard let dir = processes[Int(s)].directory else { return }
        let isCurrent = s == processes.current
        var changed = false
        defer { if changed { changedOffCPU(s) } }
        var va = start
        while va < end {
            let di = Paging.directoryIndex(va)
            let tableEnd = min(UInt64(di + 1) << 22, UInt64(end))
            let pde = tables[dir, di]
            if pde.isPresent && pde.has(.pageSize) {
                // A 4 MiB page: one directory entry, one invlpg, its frames' reference.
                tables.write(dir, di, .none)
                // The entry was also visible as a PTE through the recursive window.
                if isCurrent {
                    invlpg(UInt32(di) << 22)
                    invlpg(Paging.recursiveBase &+ UInt32(di) << 12)
                } else {
                    changed = true
                }
                processes[Int(s)].resident -= Paging.hugeFrames
                dropHugeReference(pde.frame)
            } else if pde.isPresent {
                let table = pde.frame
                let last = Paging.tableIndex(UInt32(tableEnd - 1))
                var ti = tables.nextPresent(in: table, after: Paging.tableIndex(va) - 1)
                while ti <= last {
                    let e = tables[table, ti]
                    tables.write(table, ti, .none)
                    if isCurrent { invlpg(UInt32(di) << 22 | UInt32(ti) << 12) } else { changed = true }
                    processes[Int(s)].resident -= 1
                    frames.dropReference(e.frame)
                    ti = tables.nextPresent(in: table, after: ti)
                }
                if freeEmptyTables && tables.present(in: table) == 0 {
                    tables.write(dir, di, .none)
                    // The table was visible through the recursive window.
                    if isCurrent { invlpg(Paging.recursiveBase &+ UInt32(di) << 12) } else { changed = true }
                    tables.detach(table)
                    pmm_free_page(table)
                }
            }
            guard tableEnd < UInt64(end) else { break }
            va = UInt32(tableEnd)
        }
    }

    /// One region naming segment `id` went away; the last takes its frames.
    mutating func detachSegment(_ id: Int32) {
        segments[Int(id)]!.regions -= 1
        guard segments[Int(id)]!.regions == 0 else { return }
        for case let f? in segments[Int(id)]!.frames { frames.dropReference(f) }
        segments[Int(id)] = nil
    }

    /// Frames of shared segment `id` (tests): `nil` for pages not yet touched.
    public func segmentFrames(_ id: Symbol) -> [FrameNumber?]? {
        id.index < segments.count ? segments[id.index]?.frames : nil
    }
}

@inline(never)
func hex(_ v: UInt32) -> String { String(v, radix: 16, uppercase: true) }
