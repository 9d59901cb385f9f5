public import Foundation

// MARK: - The spec's rules, in one place
//
// Every rule is checked before any network I/O, in the order a user reads the form, and the
// first broken rule is reported with its field. The result, ``ValidatedEmail``, can only be made
// here, so the composer never sees unchecked input.

/// A request that passed every rule: parsed mailboxes, the body actually sent, checked headers.
public struct ValidatedEmail: Sendable, Hashable {
    public let from: MailboxAddress
    public let to: [MailboxAddress]
    public let cc: [MailboxAddress]
    public let bcc: [MailboxAddress]
    public let replyTo: MailboxAddress?
    public let subject: String
    /// The `text/plain` body, or `nil` when only HTML is sent.
    public let textBody: String?
    /// The `text/html` body, or `nil`.
    public let htmlBody: String?
    public let priority: Priority
    public let headers: [CustomHeader]
    public let attachments: [EmailAttachment]
    /// `<id@domain>`, when the request gave one.
    public let messageID: String?
    public let date: Date?
    /// `<id@domain>` each; empty when not threaded.
    public let inReplyTo: [String]
    public let references: [String]
    /// `mailto:` and `https:` addresses for `List-Unsubscribe`, as given.
    public let listUnsubscribe: [String]

    /// Whether `List-Unsubscribe-Post: List-Unsubscribe=One-Click` goes with them (an https one).
    public var offersOneClickUnsubscribe: Bool { listUnsubscribe.contains { $0.lowercased().hasPrefix("https:") } }

    /// The SMTP envelope: the sender and every recipient (To, Cc and Bcc), each once.
    public var envelope: Envelope {
        var seen: Set<String> = []
        let recipients = (to + cc + bcc).map(\.addressSpec).filter { seen.insert($0).inserted }
        let everyone = [from] + to + cc + bcc
        return Envelope(
            mailFrom: from.addressSpec,
            recipients: recipients,
            requiresSMTPUTF8: everyone.contains(where: \.requiresSMTPUTF8)
        )
    }
}

/// Who the message goes from and to on the wire (RFC 5321 `MAIL FROM` and `RCPT TO`).
public struct Envelope: Sendable, Hashable {
    /// The reverse path.
    public var mailFrom: String
    /// Every recipient, To then Cc then Bcc, without duplicates.
    public var recipients: [String]
    /// Whether an address has a non-ASCII local part, so the server must offer SMTPUTF8.
    public var requiresSMTPUTF8: Bool
}

extension EmailRequest {
    /// Checks every rule of the spec and parses the addresses.
    ///
    /// - Parameter limits: the per-message caps (the defaults unless the operator changed them).
    /// - Throws: ``EmailValidationError`` naming the first field that breaks a rule.
    public func validated(limits: EmailLimits = EmailLimits()) throws(EmailValidationError) -> ValidatedEmail {
        guard let from = try MailboxAddress.parseSingle(
            from, field: "from", ruleMessage: "From must be a single mailbox")
        else {
            throw EmailValidationError(field: "from", rule: .missingSender, message: "A From address is required")
        }
        let to = try MailboxAddress.parseList(to, field: "to")
        let cc = try MailboxAddress.parseList(cc, field: "cc")
        let bcc = try MailboxAddress.parseList(bcc, field: "bcc")
        if to.isEmpty && cc.isEmpty && bcc.isEmpty {
            throw EmailValidationError(
                field: "to", rule: .missingRecipient, message: "At least one recipient is required (to, cc or bcc)")
        }
        let replyTo = try MailboxAddress.parseSingle(
            replyTo, field: "replyTo", ruleMessage: "Reply-To must be a single address")
        let recipients = Set((to + cc + bcc).map(\.addressSpec)).count
        if recipients > limits.maximumRecipients {
            throw EmailValidationError(
                field: bcc.isEmpty ? (cc.isEmpty ? "to" : "cc") : "bcc", rule: .tooManyRecipients,
                message: "At most \(limits.maximumRecipients) recipients (To, CC and BCC together) are allowed in one message; this one has \(recipients)")
        }

        try EmailRules.checkSubject(subject)
        for (field, text) in [("body", body), ("htmlBody", htmlBody)] where text.utf8.count > EmailRules.maximumBodyBytes {
            throw EmailValidationError(
                field: field, rule: .bodyTooLarge, message: "Body is larger than 10 MB (10,000,000 bytes of UTF-8)")
        }
        try validateHeaders()
        let inReplyTo = try Self.messageIDList(inReplyTo, field: "inReplyTo", header: "In-Reply-To")
        let references = try Self.messageIDList(references, field: "references", header: "References")
        let listUnsubscribe = try Self.unsubscribeAddresses(listUnsubscribe)
        if !listUnsubscribe.isEmpty,
            let index = headers.firstIndex(where: { ["list-unsubscribe", "list-unsubscribe-post"].contains($0.name.lowercased()) })
        {
            throw EmailValidationError(
                field: "headers[\(index)].name", rule: .reservedHeader,
                message: "Reserved header is not allowed (the listUnsubscribe parameter writes it)")
        }
        if attachments.count > limits.maximumAttachments {
            throw EmailValidationError(
                field: "attachments", rule: .tooManyAttachments,
                message: "At most \(limits.maximumAttachments) attachments are allowed in one message; this one has \(attachments.count)")
        }
        try validateAttachments()
        let messageID = try self.messageID.map { id throws(EmailValidationError) in try Self.normalizedMessageID(id) }

        let sendsHTML = bodyFormat == .html && !htmlBody.isEmpty
        return ValidatedEmail(
            from: from, to: to, cc: cc, bcc: bcc, replyTo: replyTo, subject: subject,
            textBody: sendsHTML && body.isEmpty ? nil : body,
            htmlBody: sendsHTML ? htmlBody : nil,
            priority: priority, headers: headers, attachments: attachments.map(Self.neutralizingFilename),
            messageID: messageID, date: date, inReplyTo: inReplyTo, references: references, listUnsubscribe: listUnsubscribe
        )
    }

    /// At most this many Message-IDs in References (a long thread keeps its newest).
    static let maximumReferences = 100

    /// A list of Message-IDs separated by spaces or commas, each `<id@domain>` (brackets added
    /// when missing).
    public static func messageIDList(_ text: String, field: String, header: String) throws(EmailValidationError) -> [String] {
        if EmailRules.containsForbiddenCharacters(text) { throw .forbiddenCharacters(field) }
        let items = text.split { $0 == " " || $0 == "," || $0 == "\t" }
        guard items.count <= maximumReferences else {
            throw EmailValidationError(
                field: field, rule: .invalidMessageID, message: "\(header) holds at most \(maximumReferences) Message-IDs")
        }
        var ids: [String] = []
        for item in items {
            do {
                ids.append(try normalizedMessageID(String(item)))
            } catch {
                throw EmailValidationError(
                    field: field, rule: .invalidMessageID, message: "\(header) must be Message-IDs like <id@domain>")
            }
        }
        return ids
    }

    /// `List-Unsubscribe` addresses: comma-separated `mailto:` (with an address) or `https:` URLs
    /// (with a host), without spaces, angle brackets or control characters; at most 4.
    public static func unsubscribeAddresses(_ text: String) throws(EmailValidationError) -> [String] {
        if EmailRules.containsForbiddenCharacters(text) { throw .forbiddenCharacters("listUnsubscribe") }
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let rule = "List-Unsubscribe takes mailto: and https: addresses, comma-separated"
        guard items.count <= 4 else {
            throw EmailValidationError(field: "listUnsubscribe", rule: .invalidUnsubscribe, message: "\(rule); at most 4")
        }
        for item in items {
            let lower = item.lowercased()
            let printable = item.utf8.count <= 900
                && item.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") }
            let mailto = lower.hasPrefix("mailto:") && item.dropFirst(7).contains("@")
            let https = lower.hasPrefix("https://") && URL(string: item)?.host?.isEmpty == false
            guard printable, mailto || https else {
                throw EmailValidationError(field: "listUnsubscribe", rule: .invalidUnsubscribe, message: rule)
            }
        }
        return items
    }

    private func validateHeaders() throws(EmailValidationError) {
        if headers.count > EmailRules.maximumCustomHeaders {
            throw EmailValidationError(
                field: "headers", rule: .tooManyHeaders,
                message: "At most \(EmailRules.maximumCustomHeaders) custom headers are allowed")
        }
        for (index, header) in headers.enumerated() {
            try EmailRules.checkCustomHeader(name: header.name, value: header.value, index: index)
        }
    }

    private func validateAttachments() throws(EmailValidationError) {
        var contentIDs: Set<String> = []
        for (index, attachment) in attachments.enumerated() {
            let field = "attachments[\(index)]"
            if EmailRules.containsForbiddenCharacters(attachment.filename) { throw .forbiddenCharacters("\(field).filename") }
            if attachment.filename.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                throw EmailValidationError(
                    field: "\(field).filename", rule: .invalidAttachment, message: "File name contains control characters")
            }
            if let type = attachment.contentType, !ContentTypes.isValidMediaType(type) {
                throw EmailValidationError(
                    field: "\(field).contentType", rule: .invalidAttachment,
                    message: "Content type must be \"type/subtype\" made of token characters")
            }
            if let contentID = attachment.contentID {
                if EmailRules.containsForbiddenCharacters(contentID) { throw .forbiddenCharacters("\(field).contentId") }
                guard Self.isValidContentID(contentID) else {
                    throw EmailValidationError(
                        field: "\(field).contentId", rule: .invalidContentID,
                        message: "Content-ID must be printable ASCII without spaces, \"<\", \">\" or quotes")
                }
                guard contentIDs.insert(contentID).inserted else {
                    throw EmailValidationError(
                        field: "\(field).contentId", rule: .invalidContentID, message: "Content-ID is used twice")
                }
            }
            if case .file(let path) = attachment.content, !FileManager.default.isReadableFile(atPath: path) {
                throw EmailValidationError(
                    field: "\(field).path", rule: .invalidAttachment, message: "File cannot be read")
            }
        }
    }

    /// The attachment with bidi controls, invisible characters and C1 controls in its file name
    /// replaced by `_`, so `invoice\u{202E}fdp.exe` reaches the recipient as `invoice_fdp.exe`
    /// rather than showing as `invoiceexe.pdf` (C0 controls were refused already).
    private static func neutralizingFilename(_ attachment: EmailAttachment) -> EmailAttachment {
        var attachment = attachment
        attachment.filename = DeceptiveScalars.neutralized(attachment.filename)
        return attachment
    }

    static func isValidContentID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 250
            && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">")
                && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    /// Accepts `left@right` with or without angle brackets, both sides dot-atom text (RFC 5322
    /// section 3.6.4), and returns it bracketed.
    static func normalizedMessageID(_ id: String) throws(EmailValidationError) -> String {
        if EmailRules.containsForbiddenCharacters(id) { throw .forbiddenCharacters("messageId") }
        var bare = Substring(id)
        if bare.hasPrefix("<") && bare.hasSuffix(">") && bare.count >= 2 { bare = bare.dropFirst().dropLast() }
        let sides = bare.split(separator: "@", omittingEmptySubsequences: false)
        let dotAtom: (Substring) -> Bool = { side in
            !side.isEmpty && !side.hasPrefix(".") && !side.hasSuffix(".") && !side.contains("..")
                && side.unicodeScalars.allSatisfy { MailboxAddress.isAtext($0) || $0 == "." }
        }
        guard sides.count == 2, dotAtom(sides[0]), dotAtom(sides[1]), bare.utf8.count <= 250 else {
            throw EmailValidationError(
                field: "messageId", rule: .invalidMessageID, message: "Message-ID must look like <id@domain>")
        }
        return "<\(bare)>"
    }
}
