/// One server reply: a three-digit code and one or more lines of text (RFC 5321 section 4.2).
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    /// The reply code, 200–599 in practice (the decoder accepts 100–599).
    public var code: Int
    /// The text of each line, without the code and separator.
    public var lines: [String]

    /// Creates a reply.
    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines.isEmpty ? [""] : lines
    }

    /// Creates a single-line reply.
    public init(_ code: Int, _ text: String) {
        self.init(code: code, lines: [text])
    }

    /// 2xx.
    public var isPositiveCompletion: Bool { (200..<300).contains(code) }
    /// 3xx.
    public var isPositiveIntermediate: Bool { (300..<400).contains(code) }
    /// 4xx: try again later.
    public var isTransientFailure: Bool { (400..<500).contains(code) }
    /// 5xx: do not retry as is.
    public var isPermanentFailure: Bool { (500..<600).contains(code) }

    /// The RFC 3463 enhanced status code at the start of the first line, when present and its class
    /// agrees with the reply code (so `250 2.1.0 Ok` has one and `250 1.2.3.4` has none).
    public var enhancedCode: EnhancedStatusCode? {
        guard let code = EnhancedStatusCode(prefixOf: lines[0]), code.statusClass == self.code / 100 else { return nil }
        return code
    }

    /// All lines joined by a space, with the enhanced code removed from the first line.
    public var text: String {
        var first = Substring(lines[0])
        if let enhanced = enhancedCode {
            first = first.dropFirst(enhanced.description.count).drop { $0 == " " }
        }
        return ([String(first)] + lines.dropFirst()).joined(separator: " ")
    }

    /// `250 2.1.0 Ok`, lines joined by ` / `.
    public var description: String { "\(code) " + lines.joined(separator: " / ") }
}

/// An RFC 3463 enhanced mail system status code, `class.subject.detail`, e.g. `5.7.8`.
public struct EnhancedStatusCode: Sendable, Hashable, CustomStringConvertible {
    /// 2 success, 4 persistent transient failure, 5 permanent failure.
    public var statusClass: Int
    /// The subject (0–999).
    public var subject: Int
    /// The detail (0–999).
    public var detail: Int

    /// Creates a code.
    public init(statusClass: Int, subject: Int, detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Parses a code at the start of `text`, followed by a space or the end.
    public init?(prefixOf text: String) {
        let token = text.prefix { $0 != " " }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let first = parts[0].first, parts[0].count == 1, "245".contains(first),
            parts[1].count >= 1, parts[1].count <= 3, parts[2].count >= 1, parts[2].count <= 3,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let statusClass = Int(parts[0]), let subject = Int(parts[1]), let detail = Int(parts[2])
        else { return nil }
        self.init(statusClass: statusClass, subject: subject, detail: detail)
    }

    /// `5.7.8`.
    public var description: String { "\(statusClass).\(subject).\(detail)" }
}
