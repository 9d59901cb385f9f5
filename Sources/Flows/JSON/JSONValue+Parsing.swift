public import Foundation

// MARK: - Parsing

extension JSONValue {
    /// Parses a UTF-8 JSON document (RFC 8259): any value at the top level, an optional leading
    /// byte-order mark, white space around it and nothing else after it.
    ///
    /// Strict where leniency would guess: no comments, trailing commas, `NaN`, single quotes,
    /// unpaired surrogate escapes or invalid UTF-8. Nesting is capped at 64 levels (``RunLimits/maximumDepth``) so a hostile
    /// body cannot exhaust the stack.
    public init(parsing data: Data) throws(JSONParseError) {
        let result = data.withUnsafeBytes { buffer in
            var parser = JSONParser(bytes: buffer)
            return Result { () throws(JSONParseError) in try parser.parseDocument() }
        }
        self = try result.get()
    }

    /// Parses JSON text; see ``init(parsing:)-(Data)``.
    public init(parsing text: String) throws(JSONParseError) {
        var text = text
        let result = text.withUTF8 { buffer in
            var parser = JSONParser(bytes: UnsafeRawBufferPointer(buffer))
            return Result { () throws(JSONParseError) in try parser.parseDocument() }
        }
        self = try result.get()
    }
}
