/// What a server announced in its EHLO reply (RFC 5321 section 4.1.1.1 and the extension RFCs).
public struct SMTPCapabilities: Sendable, Hashable {
    /// The keywords, upper-cased, with their parameters.
    public private(set) var keywords: [String: [String]] = [:]

    /// No extensions (a HELO session).
    public init() {}

    /// Parses the lines after the first of a 250 EHLO reply.
    public init(ehloReply: SMTPReply) {
        for line in ehloReply.lines.dropFirst() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "=" }).map(String.init)
            guard let keyword = words.first?.uppercased(), !keyword.isEmpty else { continue }
            keywords[keyword, default: []] += words.dropFirst()
        }
    }

    /// Whether `keyword` was announced.
    public func supports(_ keyword: String) -> Bool { keywords[keyword.uppercased()] != nil }

    /// RFC 3207.
    public var startTLS: Bool { supports("STARTTLS") }
    /// RFC 2920.
    public var pipelining: Bool { supports("PIPELINING") }
    /// RFC 6152.
    public var eightBitMIME: Bool { supports("8BITMIME") }
    /// RFC 6531.
    public var smtpUTF8: Bool { supports("SMTPUTF8") }
    /// RFC 2034.
    public var enhancedStatusCodes: Bool { supports("ENHANCEDSTATUSCODES") }
    /// RFC 3461.
    public var dsn: Bool { supports("DSN") }
    /// RFC 3030.
    public var chunking: Bool { supports("CHUNKING") }

    /// RFC 1870: the announced maximum message size; `nil` when SIZE is absent or says 0 (no limit).
    public var maximumSize: Int? {
        guard let value = keywords["SIZE"]?.first.flatMap(Int.init), value > 0 else { return nil }
        return value
    }

    /// RFC 4954: the SASL mechanisms, upper-cased.
    public var authMechanisms: Set<String> {
        Set((keywords["AUTH"] ?? []).map { $0.uppercased() })
    }

    /// The keywords as one sorted, short line for logs and test-connection results.
    public var summary: [String] {
        keywords.keys.sorted().map { key in
            let parameters = keywords[key] ?? []
            return parameters.isEmpty ? key : "\(key) \(parameters.joined(separator: " "))"
        }
    }
}
