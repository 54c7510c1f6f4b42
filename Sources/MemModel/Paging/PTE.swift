/// x86 32-bit paging, as the model lays it out.
///
///     virtual address:  | directory 10 | table 10 | offset 12 |
///     PTE / PDE:        | frame 20 | avail 3 | G | PS | D | A | PCD | PWT | U | W | P |
///
/// Directory entry 1023 points at the directory itself (the recursive
/// mapping), so the PTE of address `v` is visible at
/// `0xFFC00000 + (v >> 12) * 4` and the directory at `0xFFFFF000`.
public enum Paging {
    public static let userEnd: UInt32 = 0xC000_0000
    public static let recursiveBase: UInt32 = 0xFFC0_0000
    public static let recursiveSlot = 1023
    /// Directory entries 0...767 map user space (below ``userEnd``).
    public static let userSlots = 768
    /// Directory entries 768...1022 map kernel space, shared by every address space.
    public static let kernelSlots = userSlots..<1023

    /// Frames in a 4 MiB page, and the directory entries' span.
    public static let hugeFrames = 1024
    public static let hugeSize: UInt32 = 0x40_0000

    /// Where the recursive window shows the directory entry for `v`
    /// (entry 1023 used twice: the directory seen as a page).
    @inline(__always)
    public static func recursivePDEAddress(_ v: UInt32) -> UInt32 { 0xFFFF_F000 &+ (v >> 22) &* 4 }

    /// Where the recursive window shows the PTE of `v`.
    @inline(__always)
    public static func recursivePTEAddress(_ v: UInt32) -> UInt32 { recursiveBase &+ (v >> 12) &* 4 }

    @inline(__always)
    public static func directoryIndex(_ v: UInt32) -> Int { Int(v >> 22) }

    @inline(__always)
    public static func tableIndex(_ v: UInt32) -> Int { Int(v >> 12 & 0x3FF) }
}

/// Page-table and page-directory entry bits.
public struct PTEFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Bit 0: the entry maps a frame.
    public static let present = PTEFlags(rawValue: 1 << 0)
    /// Bit 1: writes allowed (CR0.WP is set, so this binds the kernel too).
    public static let writable = PTEFlags(rawValue: 1 << 1)
    /// Bit 2: user-mode accesses allowed.
    public static let user = PTEFlags(rawValue: 1 << 2)
    /// Bit 7 of a directory entry (PS, with CR4.PSE): the entry maps a
    /// 4 MiB page, 1024 frames from its frame (which is 1024-aligned),
    /// instead of naming a page table (SDM Vol. 3A §4.3, Table 4-4).
    public static let pageSize = PTEFlags(rawValue: 1 << 7)
    /// Bit 8: global; survives a CR3 reload in the TLB (kernel pages).
    public static let global = PTEFlags(rawValue: 1 << 8)
    /// Bit 9 (one of the three bits x86 leaves to the OS): copy-on-write.
    public static let cow = PTEFlags(rawValue: 1 << 9)

    public static let frameMask: UInt32 = 0xFFFF_F000
}

/// A page-table or page-directory entry: a frame number and flags in one
/// 32-bit word, laid out as the MMU reads it (see ``Paging``).
///
/// A type of its own, so that an entry cannot be mixed up with an address or
/// a page number; ``raw`` is the word as it sits in the table frame.
public struct PTE: Sendable, Hashable, CustomStringConvertible {
    public var raw: UInt32

    @inline(__always) public init(raw: UInt32) { self.raw = raw }

    /// The empty entry: not present, no frame.
    public static let none = PTE(raw: 0)

    /// An entry mapping `frame` with `flags`.
    @inline(__always)
    public static func make(_ frame: FrameNumber, _ flags: PTEFlags) -> PTE {
        PTE(raw: UInt32(bitPattern: frame.raw) << 12 | flags.rawValue)
    }

    @inline(__always) public var isPresent: Bool { raw & PTEFlags.present.rawValue != 0 }
    @inline(__always) public var frame: FrameNumber { FrameNumber(raw: Int32(bitPattern: raw >> 12)) }
    @inline(__always) public var flags: PTEFlags { PTEFlags(rawValue: raw & ~PTEFlags.frameMask) }
    @inline(__always) public func has(_ f: PTEFlags) -> Bool { raw & f.rawValue == f.rawValue }

    /// The same entry with `set` added and `cleared` removed.
    @inline(__always)
    public func with(_ set: PTEFlags, without cleared: PTEFlags = []) -> PTE {
        PTE(raw: (raw | set.rawValue) & ~cleared.rawValue)
    }

    /// For a directory entry with PS set: the 4 KiB PTE its 4 MiB page
    /// gives address `v` (the frame `v`'s page falls on; the same flags).
    @inline(__always)
    public func page(in v: UInt32) -> PTE { PTE(raw: raw &+ (v & 0x3F_F000)) }

    public var description: String { "0x" + String(raw, radix: 16) }
}
