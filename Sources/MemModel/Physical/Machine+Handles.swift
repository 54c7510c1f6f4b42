import MemTrace

/// Recorded `pmm_alloc_page` / `pmm_free_page` calls: frames bound to handles.
extension Machine {
    @inline(__always)
    func handle(_ h: Symbol) -> HandleBinding {
        h.index < handles.count ? handles[h.index] : .unbound
    }

    /// `palloc H N`: N contiguous frames (`pmm_alloc_page` for N = 1).
    /// A failed allocation is remembered so a later `pfree H` is a no-op.
    mutating func palloc(_ h: Symbol, count: Int, type: MigrateType = .unmovable) throws(ModelError) {
        if h.index >= handles.count {
            handles.append(contentsOf: repeatElement(.unbound, count: h.index + 1 - handles.count))
        }
        if case .frames = handles[h.index] {
            throw ModelError("palloc: handle %s is still bound (pfree it first)", (.handle, h))
        }
        guard let f = allocate(count, for: .handle, type: type) else {
            handles[h.index] = .failed
            return
        }
        for i in f.index..<f.index + Frames.footprint(count) { frames.refcount[i] = 1 }
        handles[h.index] = .frames(base: f, count: Int32(count), movable: type == .movable)
    }

    /// `pfree H` (`pmm_free_page`).
    mutating func pfree(_ h: Symbol) throws(ModelError) {
        switch handle(h) {
        case .unbound:
            throw ModelError("pfree: handle %s was never allocated (or is already freed)", (.handle, h))
        case .failed:
            handles[h.index] = .unbound
        case let .frames(base, count, _):
            if frames.refcount[base.index] > 1 {
                throw ModelError("pfree: handle %s is still mapped (\(frames.refcount[base.index] - 1) page-table entries point at frame \(base)); unmap it first", (.handle, h))
            }
            handles[h.index] = .unbound
            release(base, Int(count))
        }
    }

    /// Frame bound to handle `h` (tests): nil when unbound or failed.
    public func frame(ofHandle h: Symbol) -> FrameNumber? {
        if case let .frames(base, _, _) = handle(h) { return base }
        return nil
    }
}
