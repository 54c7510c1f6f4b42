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
/// ``TraceReader/symbols``) — unless the reader's
/// ``TraceReader/batchesEndAtReleases`` is off, for a consumer that words
/// errors by reading the trace again (``SharedDecode``).
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

    /// Text: plain accesses decoded in the loop straight from the buffer
    /// (no line search: the parse finds the line's end); other lines, and
    /// the last bytes of the input, through ``next()``'s general path.
    private func fillText(_ batch: EventBatch) throws(TraceError) {
        let capacity = batch.capacity
        while batch.count < capacity {
            if headerSeen {
                if input.end - input.start < Self.plainLineRoom && !input.sourceEOF { try input.fill(Self.plainLineRoom) }
                var start = input.start, line = input.line, n = batch.count
                let limit = input.end &- Self.plainLineRoom
                let events = batch.events, lines = batch.lines, bytes = buffer
                while n < capacity && start <= limit, let (event, length) = Self.plainAccessLine(bytes + start) {
                    start &+= length
                    line &+= 1
                    (events + n).initialize(to: event)
                    lines[n] = line
                    n &+= 1
                }
                if n != batch.count {
                    took(batch, upTo: n, start: start, line: line)
                    if n == capacity { return }
                    // The buffer ran short of a whole line: refill first.
                    if start > limit && !input.sourceEOF { continue }
                }
            }
            guard let event = try next() else { return }
            batch.append(event, line: line)
            if releaseNamespace >= 0 && batchesEndAtReleases { return }
        }
    }

    /// Bytes the text fast path wants buffered: the longest plain access
    /// line (`x 4194303 0xFFFFFFFF\r\n`, 22 bytes) with room to spare.
    static var plainLineRoom: Int { 32 }

    /// `r|w|x PID ADDR` then `\n` or `\r\n` at `p`, as ``plainAccess(_:_:)``
    /// accepts it, and the bytes it takes; `nil` for anything else. The
    /// caller guarantees ``plainLineRoom`` readable bytes.
    @inline(__always)
    static func plainAccessLine(_ p: UnsafeMutablePointer<UInt8>) -> (Event, Int)? {
        guard p[1] == 0x20 else { return nil }
        let kind: AccessKind
        switch p[0] {
        case 0x72: kind = .read
        case 0x77: kind = .write
        case 0x78: kind = .execute
        default: return nil
        }
        var i = 2
        var pid: UInt32 = 0
        while case let d = p[i] &- 48, d < 10, i < 9 {
            pid = pid &* 10 &+ UInt32(d)
            i &+= 1
        }
        guard i > 2, pid <= maxPID, p[i] == 0x20 else { return nil }
        i &+= 1
        var addr: UInt64 = 0
        if p[i] == 0x30 && p[i &+ 1] | 0x20 == 0x78 {
            // At most 2 + 7 + 1 + 2 bytes before the digits: 8 more are
            // within plainLineRoom.
            guard let (value, digits) = hexWord(p + (i &+ 2)) else { return nil }
            addr = UInt64(value)
            i &+= 2 &+ digits
        } else {
            let addrStart = i
            while case let d = p[i] &- 48, d < 10, i &- addrStart < 10 {
                addr = addr &* 10 &+ UInt64(d)
                i &+= 1
            }
            guard i > addrStart, addr <= 0xFFFF_FFFF else { return nil }
        }
        if p[i] == 0x0A { return (.access(kind, pid, UInt32(truncatingIfNeeded: addr)), i &+ 1) }
        if p[i] == 0x0D && p[i &+ 1] == 0x0A { return (.access(kind, pid, UInt32(truncatingIfNeeded: addr)), i &+ 2) }
        return nil
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
            if fastLines {
                // With a whole record's bytes buffered, the fast path needs
                // no bounds checks: it reads at most 1 + 5 + 5 bytes.
                var start = input.start, line = input.line, n = batch.count
                let limit = input.end &- BinaryTrace.maxRecord
                let events = batch.events, lines = batch.lines, bytes = buffer
                while n < capacity && start <= limit {
                    let p = bytes + start
                    let opByte = p[0]
                    let kind = opByte & 0x1F
                    let step = Int(opByte >> 5)
                    guard step != 0 && kind &- 1 < 3 else { break }
                    var i = 1
                    guard let pid = Self.shortVarint(p, &i), pid <= UInt64(maxPID),
                          let va = Self.shortVarint(p, &i), va <= 0xFFFF_FFFF else { break }
                    start &+= i
                    line &+= step
                    (events + n).initialize(to: .access(AccessKind(rawValue: kind &- 1).unsafelyUnwrapped,
                                                        PID(truncatingIfNeeded: pid), UInt32(truncatingIfNeeded: va)))
                    lines[n] = line
                    n &+= 1
                }
                if n != batch.count {
                    took(batch, upTo: n, start: start, line: line)
                    if n == capacity { return }
                    if start > limit { continue }  // refill first
                }
            }
            guard let event = try nextBinary() else { return }
            batch.append(event, line: line)
            if releaseNamespace >= 0 && batchesEndAtReleases { return }
        }
    }

    /// Hands back a fast loop's cursors: the events up to `n` were decoded,
    /// the input is consumed up to `start`, whose line is `line`.
    @inline(__always)
    private func took(_ batch: EventBatch, upTo n: Int, start: Int, line: Int) {
        statements &+= n &- batch.count
        eventSeen = true
        input.start = start
        input.line = line
        batch.count = n
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
