/// The contents of the frames that hold page directories and page tables.
///
/// Only those frames have modelled contents: 1024 32-bit entries each, kept in
/// one flat array of 4 KiB slots. `slotOfFrame` maps a physical frame to its
/// slot, so a walk reads "physical memory" exactly as the MMU would, and the
/// recursive window works by the same arithmetic as on hardware.
/// `presentCount[slot]` counts present entries, so an emptied user page table
/// can be returned to the allocator without scanning it.
struct TableMemory: Sendable {
    private(set) var entries: [PTE] = []
    private(set) var presentCount: [Int32] = []
    private var slotOfFrame: [Int32]
    private var freeSlots: [Int32] = []
    private(set) var tableFrames = 0

    init(frames: Int) {
        slotOfFrame = Array(repeating: -1, count: frames)
    }

    /// Starts using `frame` as a table; its entries are all zero.
    mutating func attach(_ frame: FrameNumber) {
        let slot: Int32
        if let s = freeSlots.popLast() {
            slot = s
            let base = Int(s) << 10
            for i in base..<base + 1024 { entries[i] = .none }
            presentCount[Int(s)] = 0
        } else {
            slot = Int32(presentCount.count)
            entries.append(contentsOf: repeatElement(.none, count: 1024))
            presentCount.append(0)
        }
        slotOfFrame[frame.index] = slot
        tableFrames += 1
    }

    mutating func detach(_ frame: FrameNumber) {
        let s = slotOfFrame[frame.index]
        slotOfFrame[frame.index] = -1
        freeSlots.append(s)
        tableFrames -= 1
    }

    @inline(__always)
    func isTable(_ frame: FrameNumber) -> Bool { slotOfFrame[frame.index] >= 0 }

    /// Entry `index` of the table in `frame` (a physical memory read).
    @inline(__always)
    subscript(frame: FrameNumber, index: Int) -> PTE {
        entries[Int(slotOfFrame[frame.index]) << 10 | index]
    }

    @inline(__always)
    mutating func write(_ frame: FrameNumber, _ index: Int, _ value: PTE) {
        let slot = Int(slotOfFrame[frame.index])
        let i = slot << 10 | index
        let was = entries[i].raw & 1
        entries[i] = value
        presentCount[slot] += Int32(value.raw & 1) - Int32(was)
    }

    func present(in frame: FrameNumber) -> Int { Int(presentCount[Int(slotOfFrame[frame.index])]) }

    /// Two-level walk of `v` from directory `dir`: the entry the MMU would use, or `.none`.
    @inline(__always)
    func walk(_ dir: FrameNumber, _ v: UInt32) -> PTE {
        let pde = self[dir, Paging.directoryIndex(v)]
        guard pde.isPresent else { return .none }
        return self[pde.frame, Paging.tableIndex(v)]
    }

    /// Where a read of virtual address `v` lands in physical memory: the frame
    /// and byte offset, resolved by the same two-level walk. Used to read a PTE
    /// through the recursive window.
    func resolve(_ dir: FrameNumber, _ v: UInt32) -> (frame: FrameNumber, offset: Int)? {
        let pte = walk(dir, v)
        guard pte.isPresent else { return nil }
        return (pte.frame, Int(v & 0xFFF))
    }
}
