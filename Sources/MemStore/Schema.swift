/// The results schema: the package's top-level `schema.sql`, embedded by
/// SwiftPM when the program is built (`resources: [.embedInCode(…)]`).
///
/// `Sources/MemStore/schema.sql` is a symbolic link to that file, because
/// SwiftPM takes a target's resources only from inside its folder; so the
/// text users read, apply with `sqlite3` or diff against is exactly the
/// text every database gets, with no copy to keep in step.
public enum Schema {
    /// The text of `schema.sql`. Every statement is idempotent: it is
    /// applied whenever a database is opened, after ``migrations``.
    public static let sql = String(decoding: PackageResources.schema_sql, as: UTF8.self)

    /// The version this text creates: the number in its
    /// `PRAGMA user_version = N;` line, so that bumping the schema's version
    /// is one edit, in `schema.sql`.
    public static let version: Int64 = {
        guard let v = declaredVersion(in: sql) else {
            preconditionFailure("schema.sql declares no PRAGMA user_version")
        }
        return v
    }()

    /// The `N` of the last `PRAGMA user_version = N;` line of `text`.
    static func declaredVersion(in text: String) -> Int64? {
        let prefix = "PRAGMA user_version = "
        for line in text.split(separator: "\n").reversed() where line.hasPrefix(prefix) {
            return Int64(line.dropFirst(prefix.count).prefix { $0 != ";" })
        }
        return nil
    }
}
