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
    /// The next events to replay, an empty batch at the end: `batch` filled
    /// (a reader), or a batch of the source's own (a shared decode). What
    /// it returns stays valid until the next call.
    func fill(_ batch: EventBatch) throws(TraceError) -> EventBatch
    var path: String { get }
    /// The name of cache `symbol`, declared by a `cache` statement already
    /// returned (the one name the model keeps, for slabinfo).
    func cacheName(_ symbol: Symbol) -> String
    /// `error`'s message with the names its symbols had at the statement
    /// that raised it, or `nil` if this source cannot tell them any more
    /// (see ``SharedDecode``).
    func render(_ error: ModelError) -> String?
}

extension TraceReader: EventSource {
    @inline(__always)
    public func fill(_ batch: EventBatch) throws(TraceError) -> EventBatch {
        try nextBatch(batch)
        return batch
    }

    public func cacheName(_ symbol: Symbol) -> String { symbols.name(.cache, symbol) }

    /// Exact: a batch ends after a statement that releases a name (see
    /// ``EventBatch``), so the names of the batch's statements still stand.
    public func render(_ error: ModelError) -> String? { error.rendered(symbols) }
}

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

    public func fill(_ batch: EventBatch) throws(TraceError) -> EventBatch {
        batch.count = 0
        while batch.count < batch.capacity, position < events.count {
            position += 1
            batch.append(events[position - 1], line: position)
        }
        return batch
    }

    public func cacheName(_ symbol: Symbol) -> String { symbols.name(.cache, symbol) }
    public func render(_ error: ModelError) -> String? { error.rendered(symbols) }
}
