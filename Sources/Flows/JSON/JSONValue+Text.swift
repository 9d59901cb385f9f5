// MARK: - Text forms

extension JSONValue {
    /// How the value reads when a template inserts it into a string.
    ///
    /// | value | text |
    /// |---|---|
    /// | string | the string itself, unquoted and unescaped |
    /// | integer, or a whole `Double` below 2⁵³ | decimal digits: `3`, `-17` (never `3.0`) |
    /// | other number | Swift's shortest round-tripping form: `0.1`, `2.5e-08`, `1e+20` |
    /// | bool | `true` / `false` |
    /// | null | `null` — written out rather than left empty, so a null that slipped through shows |
    /// | array, object | ``compactJSON`` (no spaces, keys sorted) |
    /// | bytes | the summary ``compactJSON`` gives, never the content |
    ///
    /// Templates never reach the last row for a placeholder's own value: bytes spliced into text
    /// are ``TemplateError/binaryInText(_:)``. An array or object holding bytes prints the summary.
    public var textValue: String {
        switch self {
        case .string(let string):
            return string
        case .null, .bool, .integer, .number, .array, .object, .bytes:
            var text = ""
            appendText(to: &text)
            return text
        }
    }

    /// The value as compact JSON: no insignificant white space, object keys sorted by Swift's
    /// `String` ordering, `"`, `\` and control characters escaped, everything else (including `/`
    /// and non-ASCII) written as UTF-8. A non-finite number, which JSON cannot spell, is `null`;
    /// bytes are their summary, `{"$binary":{"sha256":"…","size":N}}`.
    public var compactJSON: String {
        var text = ""
        appendJSON(to: &text)
        return text
    }

    /// Appends ``textValue`` without building an intermediate string for scalars.
    func appendText(to text: inout String) {
        switch self {
        case .string(let string):
            text.append(string)
        case .null, .bool, .integer, .number, .array, .object, .bytes:
            appendJSON(to: &text)
        }
    }

    /// Appends ``compactJSON``.
    func appendJSON(to text: inout String) {
        switch self {
        case .null:
            text.append("null")
        case .bool(let value):
            text.append(value ? "true" : "false")
        case .integer(let value):
            text.append(String(value))
        case .number(let value):
            Self.appendNumber(value, to: &text)
        case .string(let value):
            Self.appendQuoted(value, to: &text)
        case .array(let elements):
            text.append("[")
            for (position, element) in elements.enumerated() {
                if position > 0 { text.append(",") }
                element.appendJSON(to: &text)
            }
            text.append("]")
        case .object(let members):
            text.append("{")
            for (position, key) in members.keys.sorted().enumerated() {
                if position > 0 { text.append(",") }
                Self.appendQuoted(key, to: &text)
                text.append(":")
                members[key]!.appendJSON(to: &text)
            }
            text.append("}")
        case .bytes(let bytes):
            Self.binarySummary(of: bytes).appendJSON(to: &text)
        }
    }

    /// 2⁵³: below it every whole `Double` is an exact integer and prints as digits.
    static let exactIntegerLimit: Double = 9_007_199_254_740_992

    /// The `Int64` a whole `Double` below 2⁵³ denotes, or `nil`.
    static func exactInteger(_ value: Double) -> Int64? {
        guard value.magnitude < exactIntegerLimit, value.rounded(.towardZero) == value else { return nil }
        return Int64(value)
    }

    /// Appends a number in its shortest form; see ``textValue``.
    static func appendNumber(_ value: Double, to text: inout String) {
        if let integer = exactInteger(value) {
            text.append(String(integer))
        } else if value.isFinite {
            text.append(value.description)
        } else {
            text.append("null")
        }
    }

    /// Appends `value` as a quoted JSON string.
    static func appendQuoted(_ value: String, to text: inout String) {
        text.append("\"")
        var pendingStart = value.utf8.startIndex
        var index = pendingStart
        let utf8 = value.utf8
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                text.append(contentsOf: value[pendingStart..<index])
                appendEscape(byte, to: &text)
                pendingStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        text.append(contentsOf: value[pendingStart..<utf8.endIndex])
        text.append("\"")
    }

    /// Appends the escape for one byte that JSON requires escaped.
    private static func appendEscape(_ byte: UInt8, to text: inout String) {
        switch byte {
        case UInt8(ascii: "\""): text.append("\\\"")
        case UInt8(ascii: "\\"): text.append("\\\\")
        case UInt8(ascii: "\n"): text.append("\\n")
        case UInt8(ascii: "\r"): text.append("\\r")
        case UInt8(ascii: "\t"): text.append("\\t")
        case 0x08: text.append("\\b")
        case 0x0C: text.append("\\f")
        default:
            let hex = String(byte, radix: 16, uppercase: false)
            text.append(hex.count == 1 ? "\\u000" + hex : "\\u00" + hex)
        }
    }
}
