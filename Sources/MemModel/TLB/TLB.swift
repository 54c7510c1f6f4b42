/// A set-associative translation lookaside buffer.
///
/// Set `s` holds entries `s·W ..< (s+1)·W` of flat arrays; a page's set is the
/// low bits of its virtual page number. An entry caches the PTE the walk
/// found, so a permission check on a hit uses exactly what the hardware would
/// have cached. Entries of global PTEs survive ``flushNonGlobal()`` (a CR3
/// load).
///
/// A CR3 load is O(1): every entry records the address-space generation it
/// was filled in, and a flush starts a new generation. An entry is live when
/// its page matches and it is global or of the current generation; a stale
/// entry counts as an empty way.
///
/// Which live entry a full set gives up is the `Replacement` policy's choice
/// (a file in `Replacement/`); the TLB tells it of every hit and fill and
/// fills empty ways first, lowest way first, whatever the policy.
///
/// A fully associative LRU TLB of E entries behaves as LRU page replacement
/// with E frames: a miss is a page fault of that classic model.
public struct TLB<Replacement: TLBReplacement>: Sendable {
    public let spec: TLBSpec
    private let setMask: UInt32
    private let ways: Int
    /// Virtual page number per entry (``VirtualPage/number``); `invalid` when empty.
    private var pages: [UInt32]
    private var ptes: [PTE]
    private var generations: [UInt32]
    private var generation: UInt32 = 0
    private var replacement: Replacement

    static var invalid: UInt32 { .max }

    public init(_ spec: TLBSpec, seed: UInt64) {
        self.spec = spec
        setMask = UInt32(spec.sets - 1)
        ways = spec.ways
        pages = Array(repeating: Self.invalid, count: spec.entries)
        ptes = Array(repeating: .none, count: spec.entries)
        generations = Array(repeating: 0, count: spec.entries)
        replacement = Replacement(spec, seed: seed)
    }

    @inline(__always)
    func live(_ i: Int) -> Bool {
        generations[i] == generation || ptes[i].has(.global)
    }

    /// The cached PTE of `page`, or `nil` on a miss.
    @inline(__always)
    public mutating func lookup(_ page: VirtualPage) -> PTE? {
        let vpn = page.number
        let base = Int(vpn & setMask) &* ways
        for i in base..<base &+ ways where pages[i] == vpn && live(i) {
            replacement.touched(i)
            return ptes[i]
        }
        return nil
    }

    /// Caches `pte` for `page` after a walk: in the set's first empty
    /// (or stale) way, else in the policy's victim.
    @inline(__always)
    public mutating func fill(_ page: VirtualPage, _ pte: PTE) {
        let vpn = page.number
        let set = Int(vpn & setMask)
        let base = set &* ways
        var slot = -1
        for i in base..<base &+ ways where pages[i] == Self.invalid || !live(i) {
            slot = i
            break
        }
        if slot < 0 { slot = replacement.victim(set: set, base: base) }
        pages[slot] = vpn
        ptes[slot] = pte
        generations[slot] = generation
        replacement.inserted(slot)
    }

    /// `invlpg`: drops the entry of `page` if cached.
    @inline(__always)
    public mutating func invalidate(_ page: VirtualPage) {
        let vpn = page.number
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
    public var validEntries: [(VirtualPage, PTE)] {
        (0..<pages.count).compactMap { pages[$0] == Self.invalid || !live($0) ? nil : (VirtualPage(number: pages[$0]), ptes[$0]) }
    }

    /// The policy's own consistency, for `--check`.
    func invariantViolation() -> String? { replacement.invariantViolation() }
}
