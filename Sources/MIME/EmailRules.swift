/// Per-message caps an operator may change (`posthorn serve --max-recipients`, `--max-attachments`).
///
/// A message to thousands of recipients is a mailing list, not a workflow email, and one flow that
/// sends it can get the whole workspace's sender blocked; thousands of attachments are a way to
/// make one step work for minutes. The defaults fit every workflow email we know of.
public struct EmailLimits: Sendable, Hashable {
    /// Recipients per message, To, CC and BCC together, each address counted once (default 100).
    public var maximumRecipients: Int
    /// Attachments per message, inline images included (default 20).
    public var maximumAttachments: Int

    /// The defaults: 100 recipients, 20 attachments.
    public init(maximumRecipients: Int = 100, maximumAttachments: Int = 20) {
        self.maximumRecipients = maximumRecipients
        self.maximumAttachments = maximumAttachments
    }
}

/// The limits and denylists of the spec's "Security & limits" and "Reserved headers" sections, in
/// one place for the CLI, the node and the API alike.
public enum EmailRules {
    /// Subject cap, in Unicode scalars ("RFC limit: 998 characters").
    public static let maximumSubjectLength = 998
    /// Body and HTML body cap each: 10 MB of UTF-8.
    public static let maximumBodyBytes = 10_000_000
    /// Custom header cap.
    public static let maximumCustomHeaders = 50
    /// Longest custom header name we accept, so the name and a folded value fit a 78-octet line.
    public static let maximumHeaderNameLength = 76

    /// Header names a custom header may not use (compared case-insensitively): they would override
    /// security-critical fields or break the envelope. `__proto__`, `constructor` and `prototype`
    /// are kept from the spec so one denylist serves every client, including JavaScript ones.
    public static let reservedHeaderNames: Set<String> = [
        "from", "sender", "to", "cc", "bcc", "reply-to", "return-path", "message-id", "in-reply-to",
        "references", "date", "content-type", "content-transfer-encoding", "mime-version",
        "dkim-signature", "received", "authentication-results", "x-original-to", "delivered-to",
        "__proto__", "constructor", "prototype",
    ]

    /// Whether `name` is on the reserved list, ignoring ASCII case.
    public static func isReservedHeaderName(_ name: String) -> Bool {
        reservedHeaderNames.contains(name.lowercased())
    }

    /// Whether `name` is an RFC 5322 field name: one or more printable ASCII characters other than
    /// colon (section 2.2, `ftext`).
    public static func isValidHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maximumHeaderNameLength
            && name.utf8.allSatisfy { $0 >= 33 && $0 <= 126 && $0 != UInt8(ascii: ":") }
    }

    /// The subject's rules: no CR, LF or NUL, at most 998 characters.
    public static func checkSubject(_ subject: String) throws(EmailValidationError) {
        if containsForbiddenCharacters(subject) { throw .forbiddenCharacters("subject") }
        if subject.unicodeScalars.count > maximumSubjectLength {
            throw EmailValidationError(
                field: "subject", rule: .subjectTooLong, message: "Subject is longer than \(maximumSubjectLength) characters")
        }
    }

    /// The rules of custom header `index` (`headers[index].name`, `.value`): no CR, LF or NUL, not
    /// reserved, an RFC 5322 field name. `nil` skips that half (a flow's value still holding a
    /// `{{…}}` template, checked once rendered).
    public static func checkCustomHeader(name: String?, value: String?, index: Int) throws(EmailValidationError) {
        if let name {
            if containsForbiddenCharacters(name) { throw .forbiddenCharacters("headers[\(index)].name") }
        }
        if let value, containsForbiddenCharacters(value) { throw .forbiddenCharacters("headers[\(index)].value") }
        guard let name else { return }
        if isReservedHeaderName(name) {
            throw EmailValidationError(field: "headers[\(index)].name", rule: .reservedHeader, message: "Reserved header is not allowed")
        }
        if !isValidHeaderName(name) {
            throw EmailValidationError(
                field: "headers[\(index)].name", rule: .invalidHeaderName,
                message: "Header name must be 1 to \(maximumHeaderNameLength) printable ASCII characters without \":\"")
        }
    }

    /// Whether `value` holds a character that could end a header line or the string in a C peer:
    /// CR, LF or NUL. These are refused, never replaced (header injection defence).
    public static func containsForbiddenCharacters(_ value: String) -> Bool {
        value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }
}
