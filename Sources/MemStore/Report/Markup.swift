/// Escaping for text and attribute values in the report's HTML and SVG.
///
/// The report is written as XHTML-compatible markup (every element closed,
/// attributes quoted, only XML's five entities), so that an XML parser can
/// check it; labels and trace paths come from users and are escaped here.
enum Markup {
    /// `s` with `&`, `<`, `>`, `"` and `'` replaced by entities, and control
    /// characters XML forbids dropped: safe as element text and as a quoted
    /// attribute value.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(c)
            default:
                if c.value < 0x20 || c.value == 0xFFFE || c.value == 0xFFFF { continue }
                out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
