/// A set-associative translation lookaside buffer.
///
/// Set `s` holds ways `s·W ..< (s+1)·W` of flat arrays; a page's set is the low
/// bits of its virtual page number. An entry caches the PTE the walk found, so
/// a permission check on a hit uses exactly what the hardware would have
/// cached. Entries of global PTEs survive ``flushNonGlobal()`` (a CR3 load).
///
/// A CR3 load is O(1): every entry records the address-space generation it
/// was filled in, and a flush starts a new generation. An entry is live when
/// its page matches and it is global or of the current generation; a stale
/// entry counts as an empty way when the set picks a victim.
///
/// A fully associative LRU TLB of E entries behaves as LRU page replacement
/// with E frames: a miss is a page fault of that classic model.
public struct TLB: Sendable {
    public let spec: TLBSpec
    private let setMask: UInt32
    private let ways: Int
    /// Virtual page number per entry; `invalid` when empty.
    private var pages: [UInt32]
    private var ptes: [PTE]
    private var stamps: [UInt64]
    private var generations: [UInt32]
    private var generation: UInt32 = 0
    private var clock: UInt64 = 0
    private var random: UInt64

    static let invalid: UInt32 = .max

    public init(_ spec: TLBSpec, seed: UInt64) {
        self.spec = spec
        setMask = UInt32(spec.sets - 1)
        ways = spec.ways
        pages = Array(repeating: Self.invalid, count: spec.entries)
        ptes = Array(repeating: 0, count: spec.entries)
        stamps = Array(repeating: 0, count: spec.entries)
        generations = Array(repeating: 0, count: spec.entries)
        random = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    /// The cached PTE of page `vpn`, or `nil` on a miss.
    @inline(__always)
    func live(_ i: Int) -> Bool {
        generations[i] == generation || ptes[i] & PTEFlags.global.rawValue != 0
    }

    @inline(__always)
    public mutating func lookup(_ vpn: UInt32) -> PTE? {
        let base = Int(vpn & setMask) &* ways
        for i in base..<base &+ ways where pages[i] == vpn && live(i) {
            if spec.policy.refreshesOnHit {
                clock &+= 1
                stamps[i] = clock
            }
            return ptes[i]
        }
        return nil
    }

    /// Caches `pte` for page `vpn` after a walk, evicting per the policy.
    @inline(__always)
    public mutating func fill(_ vpn: UInt32, _ pte: PTE) {
        let base = Int(vpn & setMask) &* ways
        var victim = -1
        var oldest = UInt64.max
        for i in base..<base &+ ways {
            if pages[i] == Self.invalid || !live(i) { victim = i; break }
            if stamps[i] < oldest { oldest = stamps[i]; victim = i }
        }
        if spec.policy == .random && pages[victim] != Self.invalid && live(victim) {
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            victim = base + Int(random % UInt64(ways))
        }
        clock &+= 1
        pages[victim] = vpn
        ptes[victim] = pte
        stamps[victim] = clock
        generations[victim] = generation
    }

    /// `invlpg`: drops the entry of page `vpn` if cached.
    @inline(__always)
    public mutating func invalidate(_ vpn: UInt32) {
        let base = Int(vpn & setMask) &* ways
        for i in base..<base &+ ways where pages[i] == vpn {
            pages[i] = Self.invalid
        }
    }

    /// A CR3 load: drops every entry whose PTE is not global.
    public mutating func flushNonGlobal() {
        generation &+= 1
        if generation == 0 {
            // After 2^32 flushes, clear stale entries for real so none revives.
            for i in 0..<pages.count where !ptes[i].has(.global) { pages[i] = Self.invalid }
        }
    }

    /// Valid entries as (page, pte), for invariant checks.
    public var validEntries: [(UInt32, PTE)] {
        (0..<pages.count).compactMap { pages[$0] == Self.invalid || !live($0) ? nil : (pages[$0], ptes[$0]) }
    }
}
