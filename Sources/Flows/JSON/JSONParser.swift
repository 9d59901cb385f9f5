/// A recursive-descent JSON parser over UTF-8 bytes, producing ``JSONValue`` directly.
///
/// Hand-written rather than going through `JSONDecoder` because webhook bodies are parsed on the
/// hot path of every run, and because it lets integers that fit `Int64` stay exact.
struct JSONParser {
    /// Deepest nesting of arrays and objects accepted: ``RunLimits/maximumDepth`` (64), the one
    /// depth limit for everything Posthorn parses and stores, so a parsed value always fits the
    /// encoders that later store it (Foundation's stop at 512 levels).
    static let maximumDepth = RunLimits.maximumDepth

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var depth = 0

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    // MARK: - Document

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            index = 3
        }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw JSONParseError(.trailingCharacters, offset: index) }
        return value
    }

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, offset: index) }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            return try parseObject()
        case UInt8(ascii: "["):
            return try parseArray()
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        case let byte:
            throw JSONParseError(.unexpectedCharacter(byte), offset: index)
        }
    }

    // MARK: - Containers

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard let byte = peek() else { throw JSONParseError(.unexpectedEnd, offset: index) }
            guard byte == UInt8(ascii: "\"") else { throw JSONParseError(.unexpectedCharacter(byte), offset: index) }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            members[key] = try parseValue()
            skipWhitespace()
            if try endOfContainer(closing: UInt8(ascii: "}")) { break }
        }
        depth -= 1
        return .object(members)
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enterContainer()
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            if try endOfContainer(closing: UInt8(ascii: "]")) { break }
        }
        depth -= 1
        return .array(elements)
    }

    /// Consumes `[` or `{` and checks the nesting limit.
    private mutating func enterContainer() throws(JSONParseError) {
        depth += 1
        guard depth <= Self.maximumDepth else {
            throw JSONParseError(.nestingTooDeep(limit: Self.maximumDepth), offset: index)
        }
        index += 1
    }

    /// Consumes `,` (returning `false`: another member follows) or the closing byte (`true`).
    private mutating func endOfContainer(closing: UInt8) throws(JSONParseError) -> Bool {
        guard let byte = peek() else { throw JSONParseError(.unexpectedEnd, offset: index) }
        index += 1
        if byte == UInt8(ascii: ",") { return false }
        if byte == closing { return true }
        throw JSONParseError(.unexpectedCharacter(byte), offset: index - 1)
    }

    // MARK: - Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(JSONParseError) -> String {
        let opening = index
        index += 1
        let start = index
        // Fast path: no escapes, so the bytes can become the string as they are.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let string = try makeString(UnsafeRawBufferPointer(rebasing: bytes[start..<index]), opening: opening)
                index += 1
                return string
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            index += 1
        }
        var buffer = Array(bytes[start..<index])
        while true {
            guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, offset: index) }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                guard let string = String(validating: buffer, as: UTF8.self) else {
                    throw JSONParseError(.invalidUTF8, offset: opening)
                }
                return string
            } else if byte == UInt8(ascii: "\\") {
                try parseEscape(into: &buffer)
            } else if byte < 0x20 {
                throw JSONParseError(.controlCharacterInString, offset: index)
            } else {
                buffer.append(byte)
                index += 1
            }
        }
    }

    private func makeString(_ raw: UnsafeRawBufferPointer, opening: Int) throws(JSONParseError) -> String {
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw JSONParseError(.invalidUTF8, offset: opening)
        }
        return string
    }

    /// Decodes one escape starting at its backslash and appends its UTF-8.
    private mutating func parseEscape(into buffer: inout [UInt8]) throws(JSONParseError) {
        let escapeStart = index
        index += 1
        guard let byte = peek() else { throw JSONParseError(.unexpectedEnd, offset: index) }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
            buffer.append(byte)
        case UInt8(ascii: "b"):
            buffer.append(0x08)
        case UInt8(ascii: "f"):
            buffer.append(0x0C)
        case UInt8(ascii: "n"):
            buffer.append(UInt8(ascii: "\n"))
        case UInt8(ascii: "r"):
            buffer.append(UInt8(ascii: "\r"))
        case UInt8(ascii: "t"):
            buffer.append(UInt8(ascii: "\t"))
        case UInt8(ascii: "u"):
            let scalar = try parseUnicodeEscape(escapeStart: escapeStart)
            UTF8.encode(scalar) { buffer.append($0) }
        default:
            throw JSONParseError(.invalidEscape, offset: escapeStart)
        }
    }

    /// Decodes the hex digits after `\u`, pairing a high surrogate with the `\uDC00`–`\uDFFF`
    /// escape that must follow it.
    private mutating func parseUnicodeEscape(escapeStart: Int) throws(JSONParseError) -> Unicode.Scalar {
        let first = try parseHex4(escapeStart: escapeStart)
        switch first {
        case 0xD800...0xDBFF:
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw JSONParseError(.invalidUnicodeEscape, offset: escapeStart)
            }
            index += 2
            let second = try parseHex4(escapeStart: escapeStart)
            guard (0xDC00...0xDFFF).contains(second) else {
                throw JSONParseError(.invalidUnicodeEscape, offset: escapeStart)
            }
            let value = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            return Unicode.Scalar(value)!
        case 0xDC00...0xDFFF:
            throw JSONParseError(.invalidUnicodeEscape, offset: escapeStart)
        default:
            return Unicode.Scalar(first)!
        }
    }

    private mutating func parseHex4(escapeStart: Int) throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw JSONParseError(.invalidUnicodeEscape, offset: escapeStart) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONParseError(.invalidUnicodeEscape, offset: escapeStart)
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    // MARK: - Numbers

    /// Parses `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. Without a fraction or an
    /// exponent and within `Int64`, the result is exact (`.integer`); otherwise a `Double`.
    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        let negative = peek() == UInt8(ascii: "-")
        if negative { index += 1 }
        guard let first = peek(), isDigit(first) else { throw JSONParseError(.invalidNumber, offset: start) }
        let integerStart = index
        if first == UInt8(ascii: "0") {
            index += 1
            if let next = peek(), isDigit(next) { throw JSONParseError(.invalidNumber, offset: start) }
        } else {
            skipDigits()
        }
        let integerEnd = index
        var isInteger = true
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard skipDigits() else { throw JSONParseError(.invalidNumber, offset: start) }
        }
        if let byte = peek(), byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() else { throw JSONParseError(.invalidNumber, offset: start) }
        }
        if isInteger, let integer = exactInteger(integerStart..<integerEnd, negative: negative) {
            return .integer(integer)
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw JSONParseError(.numberOutOfRange, offset: start)
        }
        return .number(value)
    }

    /// The digits in `range` as an `Int64`, or `nil` on overflow. Accumulates negatively so that
    /// `Int64.min` is reachable.
    private func exactInteger(_ range: Range<Int>, negative: Bool) -> Int64? {
        var value: Int64 = 0
        for position in range {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(bytes[position] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = next
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    // MARK: - Bytes

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Skips a run of digits; `false` if there was none.
    @discardableResult
    private mutating func skipDigits() -> Bool {
        let start = index
        while let byte = peek(), isDigit(byte) { index += 1 }
        return index > start
    }

    private mutating func skipWhitespace() {
        while let byte = peek(),
              byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t") {
            index += 1
        }
    }

    private mutating func expect(_ expected: UInt8) throws(JSONParseError) {
        guard let byte = peek() else { throw JSONParseError(.unexpectedEnd, offset: index) }
        guard byte == expected else { throw JSONParseError(.unexpectedCharacter(byte), offset: index) }
        index += 1
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        for expected in UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount) {
            guard let byte = peek() else { throw JSONParseError(.unexpectedEnd, offset: index) }
            guard byte == expected else { throw JSONParseError(.unexpectedCharacter(byte), offset: index) }
            index += 1
        }
    }
}
