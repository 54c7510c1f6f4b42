import CSQLite
import Foundation
import MemModel

/// A failure reported by SQLite, with its message.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var description: String
}

/// One SQLite connection through the C API: a thin layer, nothing hidden.
///
/// Writes use prepared statements that are bound, stepped and reset per row,
/// inside explicit transactions: the fast path measured in FIELD_NOTES.
///
/// Several connections, in this process or others, may use one file: a
/// connection that finds the file locked waits (``waitWhileBusy``), for up
/// to `busyLimit` seconds, rather than failing at once.
public final class Database {
    let handle: OpaquePointer
    public let path: String

    /// How long a statement waits for a lock another connection holds, by
    /// default: ten minutes, far longer than any write transaction of
    /// memreplay's (milliseconds, or one merge), yet not forever when a
    /// `sqlite3` session keeps a write transaction open.
    public static let busyLimit = 600.0

    /// Opens (creating if asked) the database at `path`.
    public init(path: String, create: Bool = true, readOnly: Bool = false,
                busyLimit: Double = Database.busyLimit) throws(SQLiteError) {
        self.path = path
        var h: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0))
        // A name starting with `file:` is a URI to a SQLite built with URIs
        // on (Debian's is): `file:x?mode=memory` would store nothing. A path
        // is a path, so such a name is opened as `./file:…`.
        let name = path.hasPrefix("file:") ? "./" + path : path
        let rc = sqlite3_open_v2(name, &h, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let h else {
            let msg = h.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let h { sqlite3_close_v2(h) }
            throw SQLiteError(code: rc, description: "cannot open database \(path): \(msg)")
        }
        handle = h
        let limitMilliseconds = max(1, Int(busyLimit * 1000))
        sqlite3_busy_handler(h, waitWhileBusy, UnsafeMutableRawPointer(bitPattern: limitMilliseconds))
        sqlite3_extended_result_codes(h, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    func error(_ rc: Int32, _ what: String) -> SQLiteError {
        SQLiteError(code: rc, description: "\(path): \(what): \(String(cString: sqlite3_errmsg(handle)))")
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "error \(rc)"
            sqlite3_free(err)
            throw SQLiteError(code: rc, description: "\(path): \(msg)")
        }
    }

    /// Runs `body` in a write transaction: the write lock is taken first
    /// (`BEGIN IMMEDIATE`, waiting while another connection holds it), so
    /// nothing inside can meet a lock, and everything is committed or, on
    /// an error, rolled back.
    ///
    /// memreplay's write transactions are short (a few milliseconds of rows,
    /// see ``RunWriter``): with the database in WAL mode, readers never wait
    /// for them and writers take turns.
    public func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if !isAutocommit { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// False while a transaction is open on this connection.
    public var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }

    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        var s: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &s, nil)
        guard rc == SQLITE_OK, let s else { throw error(rc, "cannot prepare \(sql.prefix(60))") }
        return Statement(s, self)
    }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows of a query, every column as text (`nil` for NULL). For reports and tests.
    public func rows(_ sql: String, _ args: [Value] = []) throws(SQLiteError) -> [[String?]] {
        let st = try prepare(sql)
        for (i, a) in args.enumerated() { st.bind(Int32(i + 1), a) }
        var out: [[String?]] = []
        while try st.step() {
            out.append((0..<st.columnCount).map { st.text($0) })
        }
        return out
    }

    /// One integer from a query (`nil` for no row or NULL).
    public func scalar(_ sql: String, _ args: [Value] = []) throws(SQLiteError) -> Int64? {
        let st = try prepare(sql)
        for (i, a) in args.enumerated() { st.bind(Int32(i + 1), a) }
        guard try st.step(), !st.isNull(0) else { return nil }
        return st.int(0)
    }
}

/// SQLite's busy handler for memreplay's connections: called when a lock is
/// held by another connection, with how many times it was called for this
/// lock before; returns non-zero to try again. It sleeps 1, 2, … 5 ms between
/// tries — short, because memreplay's write transactions are (SQLite's own
/// `busy_timeout` sleeps up to 100 ms, so a writer that waits misses the
/// gaps between another's transactions) — until the connection's limit, in
/// milliseconds, passed as the context pointer, is spent.
private let waitWhileBusy: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32 = { context, count in
    let limit = Int(bitPattern: context)
    let tries = Int(count)
    let waited = tries <= 5 ? tries * (tries + 1) / 2 : 15 + (tries - 5) * 5
    guard waited < limit else { return 0 }
    usleep(UInt32(min(tries + 1, 5)) * 1000)
    return 1
}

/// A value to bind.
public enum Value: Sendable, Equatable {
    case int(Int64)
    case real(Double)
    case text(String)
    case null
}

private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A prepared statement.
public final class Statement {
    let handle: OpaquePointer
    unowned let db: Database

    init(_ h: OpaquePointer, _ db: Database) {
        handle = h
        self.db = db
    }

    deinit { sqlite3_finalize(handle) }

    @inline(__always)
    public func bind(_ i: Int32, _ v: Int64) { sqlite3_bind_int64(handle, i, v) }
    @inline(__always)
    public func bind(_ i: Int32, _ v: Double) { sqlite3_bind_double(handle, i, v) }
    public func bind(_ i: Int32, _ v: String) { sqlite3_bind_text(handle, i, v, -1, transient) }
    public func bindNull(_ i: Int32) { sqlite3_bind_null(handle, i) }

    public func bind(_ i: Int32, _ v: Value) {
        switch v {
        case .int(let x): bind(i, x)
        case .real(let x): bind(i, x)
        case .text(let x): bind(i, x)
        case .null: bindNull(i)
        }
    }

    /// Steps once; true while a row is available.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw db.error(rc, "step failed")
    }

    /// Runs a write statement to completion and resets it for the next row.
    @inline(__always)
    public func run() throws(SQLiteError) {
        let rc = sqlite3_step(handle)
        sqlite3_reset(handle)
        if rc != SQLITE_DONE { throw db.error(rc, "write failed") }
    }

    public var columnCount: Int32 { sqlite3_column_count(handle) }
    public func isNull(_ i: Int32) -> Bool { sqlite3_column_type(handle, i) == SQLITE_NULL }
    public func int(_ i: Int32) -> Int64 { sqlite3_column_int64(handle, i) }
    public func double(_ i: Int32) -> Double { sqlite3_column_double(handle, i) }
    /// Column `i` as stored: its type and value. A blob, or text that is
    /// not valid UTF-8 or holds a NUL, is refused rather than altered: no
    /// memreplay column holds one.
    public func value(_ i: Int32) throws(SQLiteError) -> Value {
        switch sqlite3_column_type(handle, i) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .int(int(i))
        case SQLITE_FLOAT: return .real(double(i))
        case SQLITE_TEXT:
            guard let p = sqlite3_column_text(handle, i) else { return .null }
            let count = Int(sqlite3_column_bytes(handle, i))
            let bytes = UnsafeBufferPointer(start: p, count: count)
            guard !bytes.contains(0), let s = String(validating: bytes, as: UTF8.self) else {
                throw SQLiteError(code: 0, description: "column \(columnName(i)) holds text that is not valid UTF-8")
            }
            return .text(s)
        default:
            throw SQLiteError(code: 0, description: "column \(columnName(i)) holds a blob")
        }
    }

    func columnName(_ i: Int32) -> String { String(cString: sqlite3_column_name(handle, i)) }

    public func text(_ i: Int32) -> String? {
        guard let p = sqlite3_column_text(handle, i) else { return nil }
        return String(cString: p)
    }
}
