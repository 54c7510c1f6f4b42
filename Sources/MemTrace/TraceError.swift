/// A problem with a trace, located at the statement that caused it.
///
/// Its `description` is the `FILE:LINE: message` form that compilers use, so
/// editors and terminals can jump straight to the offending statement.
public struct TraceError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    /// 1-based line number; 0 when the problem is not tied to a line
    /// (the file cannot be opened, for example).
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}
