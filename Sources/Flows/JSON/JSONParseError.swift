/// Why a document is not JSON, and where.
///
/// The description names the byte offset and the problem but never quotes the input: a webhook
/// body may carry tokens or personal data, and parse errors end up in logs and run records.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Reason: Sendable, Hashable {
        /// The input ended inside a value (or was empty).
        case unexpectedEnd
        /// A byte that cannot start or continue a value here.
        case unexpectedCharacter(UInt8)
        /// A number that breaks the JSON grammar (`01`, `1.`, `-`, `1e`).
        case invalidNumber
        /// A number too large for a `Double` (`1e400`).
        case numberOutOfRange
        /// A backslash followed by something other than `" \ / b f n r t u`.
        case invalidEscape
        /// A `\u` escape that is not four hex digits or is an unpaired surrogate.
        case invalidUnicodeEscape
        /// A string that is not valid UTF-8.
        case invalidUTF8
        /// An unescaped control character (below U+0020) inside a string.
        case controlCharacterInString
        /// Arrays and objects nested deeper than the limit, which bounds recursion on hostile input.
        case nestingTooDeep(limit: Int)
        /// Something other than white space after the document.
        case trailingCharacters
    }

    /// What is wrong.
    public let reason: Reason
    /// Byte offset into the input where the problem was found.
    public let offset: Int

    /// Creates an error.
    public init(_ reason: Reason, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    /// `invalid JSON at byte 12: unterminated string`-style text, without the input itself.
    public var description: String {
        "invalid JSON at byte \(offset): \(reasonText)"
    }

    private var reasonText: String {
        switch reason {
        case .unexpectedEnd:
            "unexpected end of input"
        case .unexpectedCharacter(let byte):
            if byte >= 0x21, byte < 0x7F {
                "unexpected character '\(Character(Unicode.Scalar(byte)))'"
            } else {
                "unexpected byte 0x\(String(byte, radix: 16, uppercase: true))"
            }
        case .invalidNumber:
            "malformed number"
        case .numberOutOfRange:
            "number out of range"
        case .invalidEscape:
            "invalid escape sequence"
        case .invalidUnicodeEscape:
            "invalid \\u escape"
        case .invalidUTF8:
            "string is not valid UTF-8"
        case .controlCharacterInString:
            "unescaped control character in string"
        case .nestingTooDeep(let limit):
            "nested deeper than \(limit) levels"
        case .trailingCharacters:
            "unexpected data after the document"
        }
    }
}
