import MemTrace

/// How a process's allocations choose among NUMA nodes.
public enum NumaPolicy: String, CaseIterable, Sendable, Codable {
    /// The process's home node first, then the nearest other nodes.
    case local
    /// Round-robin over the nodes, one allocation each, then the nearest others.
    case interleave
}

/// Physical memory as N equal, contiguous NUMA nodes, each with its own
/// instance of the allocator variant.
///
/// Node k owns frames `[k·perNode, (k+1)·perNode)`; its allocator numbers
/// them from 0. The `reserve` is at the bottom of physical memory, so it falls
/// in node 0 (and further nodes if it is larger than one node). With one node
/// this is exactly the allocator itself: same frames, same order.
///
/// Fallback order from a preferred node p is by distance |k − p|, the lower
/// node first on a tie: p, p+1, p−1, p+2, … (a linear interconnect).
public struct NodeFrames<F: FrameAllocator>: Sendable {
    public private(set) var nodes: [F]
    public let framesPerNode: Int
    public let reservedPerNode: [Int]
    public private(set) var freeCount: Int
    /// Fallback order for each preferred node.
    let order: [[Int]]

    public init(frames: Int, reserved: Int, nodes count: Int) {
        framesPerNode = frames / count
        reservedPerNode = (0..<count).map { k in min(max(reserved - k * (frames / count), 0), frames / count) }
        nodes = (0..<count).map { k in F(frames: frames / count, reserved: min(max(reserved - k * (frames / count), 0), frames / count)) }
        freeCount = nodes.reduce(0) { $0 + $1.freeCount }
        order = (0..<count).map { p in
            (0..<count).sorted { a, b in
                let da = abs(a - p), db = abs(b - p)
                return da != db ? da < db : a < b
            }
        }
    }

    public var count: Int { nodes.count }

    @inline(__always)
    public func node(of f: FrameNumber) -> Int {
        nodes.count == 1 ? 0 : f.index / framesPerNode
    }

    /// Takes `count` contiguous frames, trying `preferred` then the nearest
    /// nodes. Returns the first frame and the node that gave it.
    @inline(__always)
    public mutating func allocate(count: Int, type: MigrateType, preferred: Int) -> (frame: FrameNumber, node: Int)? {
        if nodes.count == 1 {
            guard let f = nodes[0].allocate(count: count, type: type) else { return nil }
            freeCount -= F.footprint(count)
            return (f, 0)
        }
        for k in order[preferred] {
            if let f = nodes[k].allocate(count: count, type: type) {
                freeCount -= F.footprint(count)
                return (f + k * framesPerNode, k)
            }
        }
        return nil
    }

    /// Returns frames taken by `allocate`.
    @inline(__always)
    public mutating func free(_ base: FrameNumber, count: Int) {
        let k = node(of: base)
        nodes[k].free(base - k * framesPerNode, count: count)
        freeCount += F.footprint(count)
    }

    @inline(__always)
    public func isUsed(_ f: FrameNumber) -> Bool {
        let k = node(of: f)
        return nodes[k].bitmap.isUsed(f.index - k * framesPerNode)
    }

    /// Compaction's `split_free_page()` on node `k`: the free block that
    /// starts at `f`, taken off the lists; its order, or nil.
    mutating func isolateFreeBlock(at f: FrameNumber, node k: Int) -> Int? {
        guard let o = nodes[k].isolateFreeBlock(at: f.index - k * framesPerNode) else { return nil }
        freeCount -= 1 << o
        return o
    }

    /// Gives back one frame of an isolated block that compaction did not use.
    mutating func releaseIsolated(_ f: FrameNumber) {
        let k = node(of: f)
        nodes[k].free(f - k * framesPerNode, count: 1)
        freeCount += 1
    }

    /// Allocatable frames of node k.
    public func allocatable(_ k: Int) -> Int { framesPerNode - reservedPerNode[k] }

    public func invariantViolation() -> String? {
        var total = 0
        for (k, n) in nodes.enumerated() {
            if let v = n.invariantViolation() { return nodes.count == 1 ? v : "node \(k): \(v)" }
            total += n.freeCount
        }
        if total != freeCount { return "nodes hold \(total) free frames, \(freeCount) counted" }
        return nil
    }
}
