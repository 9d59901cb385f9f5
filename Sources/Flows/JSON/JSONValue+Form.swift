public import Foundation

extension JSONValue {
    /// A form body (`application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte, UTF-8
    /// throughout) as an object of strings; a repeated field becomes an array of strings.
    ///
    /// - Throws: ``FormParseError`` when the bytes are not UTF-8 or an escape is malformed.
    public init(parsingForm bytes: Data) throws(FormParseError) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw FormParseError.notUTF8 }
        var fields: [String: JSONValue] = [:]
        for pair in FormEncoding.pairs(text) {
            guard let name = FormEncoding.decode(pair.name), let value = FormEncoding.decode(pair.value) else {
                throw FormParseError.malformedEscape
            }
            switch fields[name] {
            case nil:
                fields[name] = .string(value)
            case .array(var values)?:
                values.append(.string(value))
                fields[name] = .array(values)
            case let earlier?:
                fields[name] = .array([earlier, .string(value)])
            }
        }
        self = .object(fields)
    }
}

/// Why a form body could not be read.
public enum FormParseError: Error, Sendable, Hashable, CustomStringConvertible {
    case notUTF8
    case malformedEscape

    public var description: String {
        switch self {
        case .notUTF8: "The form body is not UTF-8"
        case .malformedEscape: "The form body has a malformed %-escape"
        }
    }
}

/// The `application/x-www-form-urlencoded` serialisation (WHATWG URL §5), shared by form bodies
/// and query strings.
public enum FormEncoding {
    /// `a=1&b=&c` → (a, 1), (b, ""), (c, ""); empty segments are skipped.
    public static func pairs(_ text: String) -> [(name: Substring, value: Substring)] {
        text.split(separator: "&").map { segment in
            guard let equals = segment.firstIndex(of: "=") else { return (segment, segment[segment.endIndex...]) }
            return (segment[..<equals], segment[segment.index(after: equals)...])
        }
    }

    /// `+` → space, then `%XX` escapes; `nil` for a malformed escape or bytes that are not UTF-8.
    public static func decode(_ text: Substring) -> String? {
        guard text.contains(where: { $0 == "+" || $0 == "%" }) else { return String(text) }
        return text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
