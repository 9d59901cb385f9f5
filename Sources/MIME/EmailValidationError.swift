/// Why a request was refused: the field it concerns and the rule it broke.
///
/// The ``message`` texts are the spec's own wording where the spec has one ("Header value contains
/// forbidden characters", "Reserved header is not allowed", "Port 25 is not allowed"), so users can
/// search the troubleshooting guide for them. No message ever contains a secret; a refused value is
/// echoed only when it is a header name.
public struct EmailValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The rule that was broken; stable for programs to match on.
    public enum Rule: String, Sendable, Hashable, CaseIterable {
        case forbiddenCharacters
        case reservedHeader
        case invalidHeaderName
        case tooManyHeaders
        case subjectTooLong
        case bodyTooLarge
        case invalidAddress
        case singleAddressRequired
        case missingRecipient
        case missingSender
        case invalidMessageID
        case invalidAttachment
        case invalidContentID
        case invalidDate
        case invalidFile
        case tooManyRecipients
        case tooManyAttachments
        case invalidUnsubscribe
    }

    /// The parameter the error concerns, in the node's names: `to`, `subject`, `headers[2].name`,
    /// `attachments[0].filename`.
    public var field: String
    /// The rule that was broken.
    public var rule: Rule
    /// One human sentence, without the field.
    public var message: String

    /// Creates an error.
    public init(field: String, rule: Rule, message: String) {
        self.field = field
        self.rule = rule
        self.message = message
    }

    /// `field: message`, one line.
    public var description: String { "\(field): \(message)" }

    /// What to do about it, in the spec's troubleshooting words, for the rules the spec names.
    public var hint: String? {
        switch rule {
        case .forbiddenCharacters: "A \\r or \\n slipped into a header, subject or address. Strip newlines from the input variable before passing it to the node."
        case .reservedHeader: "You added a custom header that's on the denylist. Use the dedicated parameter (e.g. set From instead of a From: header)."
        case .invalidHeaderName, .tooManyHeaders, .subjectTooLong, .bodyTooLarge, .invalidAddress, .singleAddressRequired,
            .missingRecipient, .missingSender, .invalidMessageID, .invalidAttachment, .invalidContentID, .invalidDate,
            .invalidFile, .tooManyRecipients, .tooManyAttachments, .invalidUnsubscribe:
            nil
        }
    }
}

extension EmailValidationError {
    static func forbiddenCharacters(_ field: String) -> Self {
        Self(field: field, rule: .forbiddenCharacters, message: "Header value contains forbidden characters")
    }

    static func invalidAddress(_ field: String, _ reason: String) -> Self {
        Self(field: field, rule: .invalidAddress, message: "Invalid address: \(reason)")
    }
}
