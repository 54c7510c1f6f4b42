import MemTrace

/// Where a replay's events come from: a trace reader, or events decoded
/// beforehand (the benchmark's model-only pass, which so runs exactly the
/// replay loop and its tick rules).
///
/// The replay only pulls events; it reads the source's position and name
/// tables to render a `FILE:LINE: message` and to hand a declared cache its
/// name (the one name the model keeps, for slabinfo). Nothing in the model
/// calls back into the source.
public protocol EventSource: AnyObject {
    func next() throws(TraceError) -> Event?
    /// The next events, as ``TraceReader/nextBatch(_:)`` gives them.
    func nextBatch(_ batch: EventBatch) throws(TraceError)
    var path: String { get }
    /// The line of the event `next()` returned last.
    var line: Int { get }
    var symbols: SymbolTables { get }
    /// Bytes of the input read so far (for a progress line).
    var bytesConsumed: UInt64 { get }
}

extension TraceReader: EventSource {}

/// Events already in memory, numbered 1, 2, 3, … as their lines.
public final class DecodedEvents: EventSource {
    public let path: String
    public let symbols: SymbolTables
    private let events: [Event]
    private var position = 0

    public init(_ events: [Event], symbols: SymbolTables, path: String = "decoded events") {
        self.events = events
        self.symbols = symbols
        self.path = path
    }

    @inline(__always)
    public func next() throws(TraceError) -> Event? {
        guard position < events.count else { return nil }
        position += 1
        return events[position - 1]
    }

    public func nextBatch(_ batch: EventBatch) throws(TraceError) {
        batch.count = 0
        while batch.count < batch.capacity, position < events.count {
            position += 1
            batch.append(events[position - 1], line: position)
        }
    }

    public var line: Int { position }
    public var bytesConsumed: UInt64 { 0 }
}
