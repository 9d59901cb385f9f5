/// One step of a path into a ``JSONValue``: `items.0.email` is `[.key("items"), .index(0),
/// .key("email")]`.
public enum JSONPathComponent: Sendable, Hashable {
    /// A member of an object.
    case key(String)
    /// An element of an array, counted from 0. On an object it looks up the key spelled in decimal,
    /// so `counts.0` reaches `{"counts": {"0": …}}` as well as `{"counts": […]}`.
    case index(Int)

    /// Reads one dotted path segment: a canonical non-negative decimal (`0`, `12`, not `007`) is an
    /// ``index(_:)``; anything else is a ``key(_:)``.
    init(segment text: String) {
        if let index = Self.canonicalIndex(text) {
            self = .index(index)
        } else {
            self = .key(text)
        }
    }

    /// The index a segment spells, if it is a decimal without a sign or leading zeros.
    static func canonicalIndex(_ text: String) -> Int? {
        let utf8 = text.utf8
        guard let first = utf8.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return nil }
        guard first != UInt8(ascii: "0") || utf8.count == 1 else { return nil }
        guard utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(text)
    }
}

// MARK: - Printing paths

extension JSONPathComponent: CustomStringConvertible {
    /// The component as it is written after a parent in a template path: `.name`, `.0`, or the
    /// bracket form `["first name"]` for keys a dotted segment cannot spell.
    public var description: String {
        var text = ""
        append(to: &text)
        return text
    }

    /// Appends the component in template path syntax (see ``description``).
    func append(to text: inout String) {
        switch self {
        case .index(let index):
            text.append(".")
            text.append(String(index))
        case .key(let key):
            if Self.isPlainSegment(key), Self.canonicalIndex(key) == nil {
                text.append(".")
                text.append(key)
            } else {
                Self.appendBracketed(key, to: &text)
            }
        }
    }

    /// Appends `["key"]`, escaping `"` and `\` with a backslash.
    static func appendBracketed(_ key: String, to text: inout String) {
        text.append("[\"")
        for scalar in key.unicodeScalars {
            if scalar == "\"" || scalar == "\\" {
                text.append("\\")
            }
            text.unicodeScalars.append(scalar)
        }
        text.append("\"]")
    }

    /// Whether `text` can be written as a dotted segment: non-empty, without `.`, brackets, braces,
    /// quotes, a backslash or white space.
    static func isPlainSegment(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { !isSegmentTerminator($0) }
    }

    /// Bytes that end a dotted segment in a template path.
    static func isSegmentTerminator(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"),
             UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"),
             UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
            true
        default:
            false
        }
    }
}
