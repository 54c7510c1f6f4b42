import MemModel

/// The columns of `tick_metrics` after `run_id`, each with how its value is
/// read from a closed tick. They come from the model's declarations — each
/// subsystem's ``CounterSet/visit(_:)`` and ``Gauges/visit(_:)`` — so adding a
/// metric is its declaration there and its column in `schema.sql` with the
/// migration step that adds it to existing databases (tests check that the
/// declarations and the schema agree, and that an old database upgrades). The writer names the columns in its INSERT, so
/// their order here need not be the table's.
public enum TickColumns {
    /// A column: its name and whether it is REAL.
    public struct Column: Sendable, Equatable {
        public let name: String
        public let isReal: Bool
    }

    /// Hands a tick's values to `v`: the tick, then every counter's change
    /// over it, then every gauge. The writer's visitor ignores the names, and
    /// the walk specializes and inlines into one straight run of stores: no
    /// closure call and no reference counting per value.
    @inline(__always)
    public static func visit<V: MetricVisitor>(_ s: TickSample, _ v: inout V) {
        v.gauge("tick", Int(truncatingIfNeeded: s.tick))
        var delta = s.delta
        delta.visit(&v)
        s.gauges.visit(&v)
    }

    /// Every column, in visiting order.
    public static let all: [Column] = {
        struct Names: MetricVisitor {
            var columns: [Column] = []
            mutating func counter(_ name: StaticString, _ value: inout Int) { columns.append(Column(name: "\(name)", isReal: false)) }
            mutating func gauge(_ name: StaticString, _ value: Int) { columns.append(Column(name: "\(name)", isReal: false)) }
            mutating func gauge(_ name: StaticString, _ value: Double) { columns.append(Column(name: "\(name)", isReal: true)) }
        }
        var names = Names()
        visit(TickSample(tick: 0, delta: Counters(), gauges: Gauges()), &names)
        return names.columns
    }()

    /// Writes a tick's values to consecutive slots (a REAL as its bit pattern).
    public struct RowWriter: MetricVisitor {
        public var slot: UnsafeMutablePointer<Int64>
        public init(slot: UnsafeMutablePointer<Int64>) { self.slot = slot }
        @inline(__always) public mutating func counter(_ name: StaticString, _ value: inout Int) {
            slot.pointee = Int64(value)
            slot += 1
        }
        @inline(__always) public mutating func gauge(_ name: StaticString, _ value: Int) {
            slot.pointee = Int64(value)
            slot += 1
        }
        @inline(__always) public mutating func gauge(_ name: StaticString, _ value: Double) {
            slot.pointee = Int64(bitPattern: value.bitPattern)
            slot += 1
        }
    }
}
