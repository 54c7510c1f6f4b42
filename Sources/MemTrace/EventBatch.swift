/// A run of decoded events with the line of each: what a reader hands the
/// replay loop, a batch at a time.
///
/// Decoding a batch in one tight loop and then replaying it in another keeps
/// each loop's working set in registers and the instruction cache (one call
/// per 4096 events instead of one per event), and lets several models replay
/// the same decoded events (`compare`): a filled batch is only read.
///
/// A batch ends early after a statement that ends a symbol's binding
/// (`pfree`, `sfree`, `kfree`, `fdrop`): the reader releases the name only
/// when asked for the next batch, after the model has applied that statement,
/// so error messages name what the statement named (see
/// ``TraceReader/symbols``).
public final class EventBatch: @unchecked Sendable {
    /// Events a batch holds at most.
    public static let defaultCapacity = 4096
    public let capacity: Int
    /// Events filled, `events[0 ..< count]`.
    public var count = 0
    public let events: UnsafeMutablePointer<Event>
    /// The trace line of each event (1-based; for binary traces, the line of
    /// the text statement it was converted from).
    public let lines: UnsafeMutablePointer<Int>
    /// Bytes of the input consumed when the batch was filled (progress lines).
    public internal(set) var bytesConsumed: UInt64 = 0

    public init(capacity: Int = EventBatch.defaultCapacity) {
        precondition(capacity > 0)
        self.capacity = capacity
        events = .allocate(capacity: capacity)
        lines = .allocate(capacity: capacity)
    }

    deinit {
        events.deallocate()
        lines.deallocate()
    }

    /// Adds `e` (the batch must not be full).
    @inline(__always)
    public func append(_ e: Event, line: Int) {
        (events + count).initialize(to: e)
        lines[count] = line
        count &+= 1
    }

    /// The events, for tests and tools that want an array.
    public var array: [Event] { Array(UnsafeBufferPointer(start: events, count: count)) }
}

extension TraceReader {
    /// Fills `batch` with the next statements (directives and ticks
    /// included); an empty batch means the end of the trace.
    ///
    /// An error in a statement ends the batch before it: the events before
    /// it come back first, and the next call throws the error, so a replay
    /// reports the first broken rule in trace order whether the reader or
    /// the model finds it.
    public func nextBatch(_ batch: EventBatch) throws(TraceError) {
        batch.count = 0
        if let e = deferredError {
            deferredError = nil
            throw e
        }
        do {
            if format == .unknown { try detectFormat() }
            if format == .binary {
                try fillBinary(batch)
            } else {
                try fillText(batch)
            }
        } catch {
            if batch.count == 0 { throw error }
            deferredError = error
        }
        batch.bytesConsumed = bytesConsumed
    }

    /// Text: plain accesses decoded in the loop; other lines through
    /// ``next()``'s general path.
    private func fillText(_ batch: EventBatch) throws(TraceError) {
        let capacity = batch.capacity
        while batch.count < capacity {
            guard headerSeen else {
                guard let e = try next() else { return }
                batch.append(e, line: line)
                if releaseNamespace >= 0 { return }
                continue
            }
            guard let (s, e) = try input.nextLine(maxLength: Self.maxLineLength) else {
                releasePending()
                return
            }
            if let event = plainAccess(s, e) {
                eventSeen = true
                statements &+= 1
                batch.append(event, line: line)
                continue
            }
            // Not a plain access: give the line back and take the general path.
            input.start = s
            input.line -= 1
            guard let event = try next() else { return }
            batch.append(event, line: line)
            if releaseNamespace >= 0 { return }
        }
    }

    /// memtrace-bin: access records with a short step and numbers of at
    /// most 5 bytes decoded in the loop; every other record (and any access
    /// record out of range or damaged) through ``next()``, which checks and
    /// words errors.
    private func fillBinary(_ batch: EventBatch) throws(TraceError) {
        let capacity = batch.capacity
        // No step can overflow the line counter within one batch.
        let fastLines = UInt64(line) < Self.maxLine - 8 * UInt64(capacity)
        releasePending()
        while batch.count < capacity {
            if input.end - input.start < BinaryTrace.maxRecord { try input.fill(BinaryTrace.maxRecord) }
            // With a whole record's bytes buffered, the fast path needs no
            // bounds checks: it reads at most 1 + 5 + 5 bytes.
            if fastLines && input.end - input.start >= BinaryTrace.maxRecord {
                let p = buffer + input.start
                let opByte = p[0]
                let kind = opByte & 0x1F
                let step = Int(opByte >> 5)
                if step != 0 && kind &- 1 < 3 {
                    var i = 1
                    if let pid = Self.shortVarint(p, &i), pid <= UInt64(maxPID),
                       let va = Self.shortVarint(p, &i), va <= 0xFFFF_FFFF {
                        input.start &+= i
                        input.line &+= step
                        eventSeen = true
                        statements &+= 1
                        batch.append(.access(AccessKind(rawValue: kind &- 1)!, PID(truncatingIfNeeded: pid), UInt32(truncatingIfNeeded: va)),
                                     line: input.line)
                        continue
                    }
                }
            }
            guard let event = try nextBinary() else { return }
            batch.append(event, line: line)
            if releaseNamespace >= 0 { return }
        }
    }

    /// LEB128 of at most 5 bytes at `p + i`, or `nil` (longer: the general
    /// path decodes it). The caller guarantees 5 readable bytes.
    @inline(__always)
    static func shortVarint(_ p: UnsafeMutablePointer<UInt8>, _ i: inout Int) -> UInt64? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        var k = i
        while true {
            let b = p[k]
            k &+= 1
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { break }
            shift &+= 7
            if shift == 35 { return nil }
        }
        i = k
        return v
    }
}
