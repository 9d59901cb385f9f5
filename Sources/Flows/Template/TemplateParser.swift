/// Splits a template's source into literal text and parsed references, in one pass over its UTF-8.
///
/// Every character with meaning here is ASCII, so splitting the bytes at those characters never
/// cuts a multi-byte character and each piece is still valid UTF-8.
struct TemplateParser {
    private let bytes: [UInt8]
    private var index = 0
    private var segments: [Template.Segment] = []
    private var literal: [UInt8] = []

    init(source: String) {
        self.bytes = Array(source.utf8)
    }

    // MARK: - Text

    mutating func parse() throws(TemplateError) -> [Template.Segment] {
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\"), opensPlaceholder(at: index + 1) {
                literal.append(UInt8(ascii: "{"))
                literal.append(UInt8(ascii: "{"))
                index += 3
            } else if byte == UInt8(ascii: "{"), opensPlaceholder(at: index) {
                flushLiteral()
                segments.append(.reference(try parseReference()))
            } else {
                literal.append(byte)
                index += 1
            }
        }
        flushLiteral()
        return segments
    }

    private func opensPlaceholder(at position: Int) -> Bool {
        position + 1 < bytes.count && bytes[position] == UInt8(ascii: "{") && bytes[position + 1] == UInt8(ascii: "{")
    }

    private mutating func flushLiteral() {
        guard !literal.isEmpty else { return }
        segments.append(.literal(String(decoding: literal, as: UTF8.self)))
        literal.removeAll(keepingCapacity: true)
    }

    // MARK: - References

    /// A path segment as written, before it is known whether it names a root or a path step.
    private struct RawSegment {
        enum Form {
            /// `.name` (or the first name).
            case dotted
            /// `["name"]` or `['name']`.
            case quoted
            /// `[3]`.
            case bracketIndex(Int)
        }

        var text: String
        var form: Form

        var component: JSONPathComponent {
            switch form {
            case .dotted: JSONPathComponent(segment: text)
            case .quoted: .key(text)
            case .bracketIndex(let index): .index(index)
            }
        }

        /// Whether this segment is the bare word `word` (roots are words, never brackets).
        func isWord(_ word: String) -> Bool {
            switch form {
            case .dotted, .quoted: text == word
            case .bracketIndex: false
            }
        }
    }

    /// Parses the placeholder whose `{{` is at `index` and moves past its `}}`.
    private mutating func parseReference() throws(TemplateError) -> TemplateReference {
        let opening = index
        var position = opening + 2
        guard let segments = scanSegments(at: &position) else {
            throw failure(opening: opening)
        }
        index = position
        let text = String(decoding: bytes[(opening + 2)..<(position - 2)], as: UTF8.self)
        return try interpret(segments, text: trimmed(text), offset: characterOffset(opening))
    }

    /// Reads `ws* name ( .name | [ "key" ] | [ digits ] )* ws* }}`; `nil` at the first byte that
    /// does not fit, leaving the diagnosis to ``failure(opening:)``.
    private func scanSegments(at position: inout Int) -> [RawSegment]? {
        skipWhitespace(&position)
        guard let head = scanName(&position) else { return nil }
        var segments = [RawSegment(text: head, form: .dotted)]
        while position < bytes.count {
            if bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard let name = scanName(&position) else { return nil }
                segments.append(RawSegment(text: name, form: .dotted))
            } else if bytes[position] == UInt8(ascii: "[") {
                position += 1
                guard let segment = scanBracket(&position) else { return nil }
                segments.append(segment)
            } else {
                break
            }
        }
        skipWhitespace(&position)
        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "}"), bytes[position + 1] == UInt8(ascii: "}") else {
            return nil
        }
        position += 2
        return segments
    }

    private func scanName(_ position: inout Int) -> String? {
        let start = position
        while position < bytes.count, !JSONPathComponent.isSegmentTerminator(bytes[position]) {
            position += 1
        }
        guard position > start else { return nil }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// Reads what follows `[`: a quoted key or digits, then `]`.
    private func scanBracket(_ position: inout Int) -> RawSegment? {
        guard position < bytes.count else { return nil }
        let quote = bytes[position]
        let segment: RawSegment
        if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
            position += 1
            var key: [UInt8] = []
            while true {
                guard position < bytes.count else { return nil }
                let byte = bytes[position]
                position += 1
                if byte == quote { break }
                if byte == UInt8(ascii: "\\") {
                    guard position < bytes.count else { return nil }
                    key.append(bytes[position])
                    position += 1
                } else {
                    key.append(byte)
                }
            }
            segment = RawSegment(text: String(decoding: key, as: UTF8.self), form: .quoted)
        } else {
            let start = position
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
                position += 1
            }
            let digits = String(decoding: bytes[start..<position], as: UTF8.self)
            guard let index = Int(digits) else { return nil }
            segment = RawSegment(text: digits, form: .bracketIndex(index))
        }
        guard position < bytes.count, bytes[position] == UInt8(ascii: "]") else { return nil }
        position += 1
        return segment
    }

    private func skipWhitespace(_ position: inout Int) {
        while position < bytes.count, Self.isWhitespace(bytes[position]) {
            position += 1
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }

    // MARK: - Roots

    /// Maps the raw segments onto a root and a path.
    private func interpret(_ segments: [RawSegment], text: String, offset: Int) throws(TemplateError) -> TemplateReference {
        let unknownRoot = TemplateError.unknownRoot(text, offset: offset)
        let invalid = TemplateError.invalidReference(text, offset: offset)
        let head = segments[0]
        if head.isWord("trigger") {
            guard segments.count >= 2 else { throw unknownRoot }
            if segments[1].isWord("body") {
                return TemplateReference(root: .triggerBody, path: segments[2...].map(\.component))
            } else if segments[1].isWord("headers") || segments[1].isWord("query") {
                guard segments.count == 3 else { throw invalid }
                let name = JSONPathComponent.key(segments[2].text)
                return TemplateReference(root: segments[1].isWord("headers") ? .triggerHeaders : .triggerQuery, path: [name])
            } else {
                throw unknownRoot
            }
        } else if head.isWord("steps") {
            guard segments.count >= 3, segments[2].isWord("output") else { throw unknownRoot }
            return TemplateReference(root: .step(segments[1].text), path: segments[3...].map(\.component))
        } else if head.isWord("run") {
            guard segments.count >= 2, segments[1].isWord("id") else { throw unknownRoot }
            guard segments.count == 2 else { throw invalid }
            return TemplateReference(root: .runID)
        } else if head.isWord("now") {
            guard segments.count == 1 else { throw invalid }
            return TemplateReference(root: .now)
        } else {
            throw unknownRoot
        }
    }

    // MARK: - Errors

    /// Unterminated when no `}}` follows the `{{` at all; otherwise the text up to the first `}}`
    /// is not a reference.
    private func failure(opening: Int) -> TemplateError {
        var position = opening + 2
        while position + 1 < bytes.count {
            if bytes[position] == UInt8(ascii: "}"), bytes[position + 1] == UInt8(ascii: "}") {
                let text = String(decoding: bytes[(opening + 2)..<position], as: UTF8.self)
                return .invalidReference(trimmed(text), offset: characterOffset(opening))
            }
            position += 1
        }
        return .unterminated(offset: characterOffset(opening))
    }

    /// The offset of a byte position in characters, for messages a person reads.
    private func characterOffset(_ position: Int) -> Int {
        String(decoding: bytes[0..<position], as: UTF8.self).count
    }

    private func trimmed(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars
        while let first = scalars.first, first.isASCII, Self.isWhitespace(UInt8(first.value)) { scalars.removeFirst() }
        while let last = scalars.last, last.isASCII, Self.isWhitespace(UInt8(last.value)) { scalars.removeLast() }
        return String(scalars)
    }
}
