import ArgumentParser
import MemModel

/// One `--variant LABEL:KEY=VALUE[,KEY=VALUE…]` of `memreplay compare`: a
/// label and the replay options that differ from the command line's.
///
/// The label ends at the first `:` (TLB specs such as `tlb=256:8` contain
/// colons of their own); pairs are separated by `,`, which no value
/// contains. `LABEL` alone, or `LABEL:`, is the base settings unchanged.
struct VariantSpec: Equatable {
    var label: String
    var settings: [(key: String, value: String)]

    static func == (a: VariantSpec, b: VariantSpec) -> Bool {
        a.label == b.label && a.settings.map { [$0.key, $0.value] } == b.settings.map { [$0.key, $0.value] }
    }

    /// The keys a variant may set: the replay options, by their long names
    /// (`direct-reclaim=false` is `--no-direct-reclaim`).
    static let keys = ["pmm", "mem", "reserve", "nodes", "tlb", "itlb", "l2tlb", "seed", "high", "low", "slab",
                       "page-cache-policy", "numa-policy", "direct-reclaim", "tick-every", "check-every", "slabinfo-every",
                       "compaction", "extfrag-threshold", "compaction-proactiveness", "mrc", "pcid", "pcid-tags", "pde-cache", "large-tlb"]

    /// A variant from already separated settings (sweep grids, whose values
    /// may contain `:`), checked against the same keys.
    init(label: String, settings: [(key: String, value: String)]) throws {
        for (key, _) in settings where !Self.keys.contains(key) {
            throw ValidationError("unknown key '\(key)'; valid keys: \(Self.keys.joined(separator: ", "))")
        }
        if let key = Self.repeatedKey(settings) {
            throw ValidationError("variant \(label): '\(key)' is set twice")
        }
        self.label = label
        self.settings = settings
    }

    init(parsing spec: String) throws {
        let label: Substring, rest: Substring
        if let colon = spec.firstIndex(of: ":") {
            label = spec[..<colon]
            rest = spec[spec.index(after: colon)...]
        } else {
            label = spec[...]
            rest = ""
        }
        guard !label.isEmpty else {
            throw ValidationError("--variant '\(spec)': no label; write LABEL:KEY=VALUE[,KEY=VALUE...], e.g. buddy:pmm=buddy")
        }
        self.label = String(label)
        settings = []
        for pair in rest.split(separator: ",", omittingEmptySubsequences: true) {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw ValidationError("--variant '\(spec)': '\(pair)' is not KEY=VALUE")
            }
            let key = String(pair[..<eq]), value = String(pair[pair.index(after: eq)...])
            guard Self.keys.contains(key) else {
                throw ValidationError("--variant '\(spec)': unknown key '\(key)'; valid keys: \(Self.keys.joined(separator: ", "))")
            }
            settings.append((key, value))
        }
        // The last value would win unseen: a slip in a long spec, not a wish.
        if let key = Self.repeatedKey(settings) {
            throw ValidationError("--variant '\(spec)': '\(key)' is set twice")
        }
    }

    /// The first key that occurs more than once, if any.
    static func repeatedKey(_ settings: [(key: String, value: String)]) -> String? {
        var seen = Set<String>()
        for (key, _) in settings where !seen.insert(key).inserted { return key }
        return nil
    }

    /// `base` with this variant's settings applied, checked as the command
    /// line's options are.
    func apply(to base: ReplaySettings) throws -> ReplayOptions {
        var s = base
        for (key, value) in settings {
            func parse<T: ExpressibleByArgument>(_ type: T.Type, _ expected: String) throws -> T {
                guard let v = T(argument: value) else {
                    throw ValidationError("--variant \(label): \(key)=\(value): expected \(expected)")
                }
                return v
            }
            let count = "a whole number"
            switch key {
            case "pmm":
                s.pmm = try parse(FrameAllocatorKind.self, FrameAllocatorKind.allCases.map(\.rawValue).joined(separator: ", "))
            case "mem": s.mem = value
            case "reserve": s.reserve = value
            case "nodes": s.nodes = try parse(Int.self, count)
            case "tlb": s.tlb = value
            case "itlb": s.itlb = value == "none" ? nil : value
            case "l2tlb": s.l2tlb = value == "none" ? nil : value
            case "pde-cache": s.pdeCache = value == "none" ? nil : value
            case "large-tlb": s.largeTlb = value
            case "seed": s.seed = try parse(UInt64.self, count)
            case "high": s.high = try parse(Int.self, count)
            case "low": s.low = try parse(Int.self, count)
            case "slab":
                s.slab = try parse(SlabAllocatorKind.self, SlabAllocatorKind.allCases.map(\.rawValue).joined(separator: ", "))
            case "page-cache-policy":
                s.pageCachePolicy = try parse(PageCacheEvictionKind.self, PageCacheEvictionKind.allCases.map(\.rawValue).joined(separator: ", "))
            case "numa-policy":
                s.numaPolicy = try parse(NumaPolicy.self, NumaPolicy.allCases.map(\.rawValue).joined(separator: ", "))
            case "direct-reclaim": s.noDirectReclaim = !(try parse(Bool.self, "true or false"))
            case "tick-every": s.tickEvery = try parse(Int.self, count)
            case "check-every": s.checkEvery = try parse(Int.self, count)
            case "slabinfo-every": s.slabinfoEvery = try parse(Int.self, count)
            case "compaction":
                s.compaction = try parse(CompactionMode.self, CompactionMode.allCases.map(\.rawValue).joined(separator: ", "))
            case "extfrag-threshold": s.extfragThreshold = try parse(Int.self, count)
            case "compaction-proactiveness": s.compactionProactiveness = try parse(Int.self, count)
            case "mrc": s.mrc = try parse(Bool.self, "true or false")
            case "pcid": s.pcid = try parse(Bool.self, "true or false")
            case "pcid-tags": s.pcidTags = try parse(Int.self, count)
            default: preconditionFailure("key \(key) passed parsing but has no setting")
            }
        }
        do {
            return try s.options()
        } catch let error as ValidationError {
            throw ValidationError("--variant \(label): \(error.message)")
        }
    }
}
