import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A file a command writes (`-o`): checked before any work, written beside
/// its destination and renamed into place only when complete.
///
/// So a failed or interrupted command leaves the destination as it was and
/// deletes nothing it did not create. The destination must be absent or a
/// regular file (through a symbolic link, the link stays and its target is
/// replaced); a device, FIFO, socket or directory is refused, and so is any
/// input of the command (the same inode, however spelled). `-` is standard
/// output, written directly.
struct OutputFile {
    /// The path given on the command line.
    let path: String
    /// Where the file is renamed to: the path, or the target of the link it names.
    let destination: String

    /// Checks `path` against the rules above; `refuseDatabases` also refuses
    /// an existing SQLite database (a report must never replace results).
    init(_ path: String, inputs: [String], refuseDatabases: Bool = false) throws {
        self.path = path
        guard path != "-" else {
            destination = path
            return
        }
        var st = stat()
        guard lstat(path, &st) == 0 else {
            destination = path  // absent: created
            return
        }
        var target = path
        if st.st_mode & S_IFMT == S_IFLNK {
            guard let resolved = realpath(path, nil) else {
                throw ValidationError("\(path): a link to nothing that exists; give another -o")
            }
            target = String(cString: resolved)
            free(resolved)
            guard stat(target, &st) == 0 else { throw ValidationError("\(path): cannot read its target") }
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw ValidationError("\(path) is not a regular file (a device, FIFO, socket or directory); give another -o")
        }
        for input in inputs where Self.sameFile(path, input) {
            throw ValidationError("the output \(path) is the input itself (\(input == "-" ? "standard input" : input)); give another -o")
        }
        // A database's log and shared index are regular files without
        // SQLite's header; replacing one under a writer corrupts the database.
        for suffix in ["-wal", "-shm", "-journal"] where target.hasSuffix(suffix)
            && Self.isSQLiteDatabase(String(target.dropLast(suffix.count))) {
            throw ValidationError("\(path) belongs to the SQLite database \(target.dropLast(suffix.count)) (its \(suffix.dropFirst()) file); give another -o")
        }
        if refuseDatabases && Self.isSQLiteDatabase(target) {
            throw ValidationError("\(path) is a SQLite database; a report does not replace it (give another -o)")
        }
        destination = target
    }

    /// Runs `body` with the path to write (a partial file beside the
    /// destination, or `-`), then renames the partial file into place. On an
    /// error only the partial file is removed, and the error is rethrown.
    func write<T>(_ body: (String) throws -> T) throws -> T {
        guard path != "-" else { return try body(path) }
        let partial = destination + ".partial-\(getpid())"
        do {
            let result = try body(partial)
            guard rename(partial, destination) == 0 else {
                throw OutputError(message: "cannot rename \(partial) to \(destination): \(String(cString: strerror(errno)))")
            }
            return result
        } catch {
            unlink(partial)
            throw error
        }
    }

    /// Writes `contents` as the whole file (or to standard output for `-`),
    /// through ``write(_:)``. Errors name the path and the system's reason
    /// (`report.html: No space left on device`), not Foundation's wording.
    func write(contents: some Collection<UInt8>) throws {
        try write { target in
            let fd = target == "-" ? 1 : open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
            func failure() -> OutputError { OutputError(message: "\(path): \(String(cString: strerror(errno)))") }
            guard fd >= 0 else { throw failure() }
            let bytes = Array(contents)
            var done = 0
            while done < bytes.count {
                let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    let error = failure()
                    if fd != 1 { close(fd) }
                    throw error
                }
                done += n
            }
            if fd != 1 && close(fd) != 0 { throw failure() }
        }
    }

    /// Whether the output path `a` and the input `b` name one file (links,
    /// `./` spellings); an input `-` is whatever standard input is.
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, (b == "-" ? fstat(0, &sb) : stat(b, &sb)) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    /// Whether `path` starts with SQLite's 16-byte header string.
    static func isSQLiteDatabase(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let magic = (try? h.read(upToCount: 16)) ?? Data()
        return magic == Data("SQLite format 3\0".utf8)
    }
}

/// An output that could not be put in place.
struct OutputError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
