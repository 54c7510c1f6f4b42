/// Words of the shell commands memreplay prints for users to paste (the
/// `command` of each sweep job).
///
/// POSIX sh takes everything between single quotes literally, newlines
/// included, and a single quote cannot occur inside them; so a word is
/// wrapped in single quotes and each `'` in it becomes `'\''` (close the
/// quotes, an escaped quote, open them again): `it's` → `'it'\''s'`. Words
/// made only of characters no shell treats specially are left bare, so the
/// usual commands read as typed.
func shellQuoted(_ word: String) -> String {
    if !word.isEmpty && word.utf8.allSatisfy(isShellPlain) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}

/// Letters, digits and `_ - . / : , + = @ %`: never expanded, split or
/// globbed by sh (`~` is left out: it expands at the start of a word).
private func isShellPlain(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
         UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return "_-./:,+=@%".utf8.contains(c)
    }
}
