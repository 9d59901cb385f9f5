/// One mailbox: an optional display name and an address whose domain is held in ASCII (A-label) form.
///
/// Built only by the strict parser in `MailboxAddress+Parsing.swift`, so every value of this type
/// is free of CR, LF, NUL, comments, groups and quoted local parts.
public struct MailboxAddress: Sendable, Hashable, CustomStringConvertible {
    /// The display name exactly as the user meant it (quotes and escapes removed), or `nil`.
    public var displayName: String?
    /// The local part; may be non-ASCII (then the message needs SMTPUTF8, RFC 6531).
    public var localPart: String
    /// The domain in lowercase ASCII; internationalised names are converted to A-labels.
    public var domain: String

    /// `local@domain`, as used in the SMTP envelope.
    public var addressSpec: String { "\(localPart)@\(domain)" }

    /// Whether delivering to or from this address needs the SMTPUTF8 extension: true when the
    /// local part is not ASCII (a non-ASCII domain is always sent as A-labels instead).
    public var requiresSMTPUTF8: Bool { !localPart.utf8.allSatisfy { $0 < 0x80 } }

    /// The address spec alone; display names are personal data and stay out of descriptions.
    public var description: String { addressSpec }
}
