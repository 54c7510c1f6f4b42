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
    /// Directory entries 768...1022 map kernel space, shared by every address space.
    public static let kernelSlots = 768..<1023

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
    /// Bit 8: global; survives a CR3 reload in the TLB (kernel pages).
    public static let global = PTEFlags(rawValue: 1 << 8)
    /// Bit 9 (one of the three bits x86 leaves to the OS): copy-on-write.
    public static let cow = PTEFlags(rawValue: 1 << 9)

    public static let frameMask: UInt32 = 0xFFFF_F000
}

/// A page-table entry value: frame number and flags in one 32-bit word.
public typealias PTE = UInt32

extension PTE {
    @inline(__always) var isPresent: Bool { self & PTEFlags.present.rawValue != 0 }
    @inline(__always) var frame: FrameNumber { FrameNumber(bitPattern: self >> 12) }
    @inline(__always) func has(_ f: PTEFlags) -> Bool { self & f.rawValue == f.rawValue }
    @inline(__always) static func make(_ frame: FrameNumber, _ flags: PTEFlags) -> PTE {
        UInt32(bitPattern: frame) << 12 | flags.rawValue
    }
}
