/// A failed SMTP operation, in the vocabulary users already search for (nodemailer's codes) plus
/// `EPOLICY` for what Posthorn refuses on purpose (private egress, port 25).
///
/// `description` is safe to log and show: the server's text is scrubbed of every secret the
/// session knew (passwords, tokens and their base64 forms) before it gets here.
public struct SMTPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The error family. A struct over a string so new codes can be added without breaking callers.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The host name could not be resolved.
        public static let dns = Code(rawValue: "EDNS")
        /// The TCP connection failed or dropped.
        public static let connection = Code(rawValue: "ECONNECTION")
        /// A phase took longer than its timeout.
        public static let timeout = Code(rawValue: "ETIMEDOUT")
        /// TLS could not be established as required (no STARTTLS, handshake, certificate, version).
        public static let tls = Code(rawValue: "ETLS")
        /// Authentication failed or was impossible.
        public static let auth = Code(rawValue: "EAUTH")
        /// The sender or recipients were refused.
        public static let envelope = Code(rawValue: "EENVELOPE")
        /// The message was refused (size, content, DATA phase).
        public static let message = Code(rawValue: "EMESSAGE")
        /// The server broke the protocol.
        public static let `protocol` = Code(rawValue: "EPROTOCOL")
        /// Posthorn refused on purpose: a private address, port 25, an invalid setting.
        public static let policy = Code(rawValue: "EPOLICY")

        /// The spec's troubleshooting advice for this family, when it has one.
        public var troubleshootingHint: String? {
            switch rawValue {
            case "EAUTH":
                "Wrong password, or a normal password used where an App Password is required. Generate an App Password in your Google/Microsoft account and paste it into the credential."
            case "ECONNECTION", "ETIMEDOUT", "EDNS":
                "Wrong host or port, or a firewall blocking outbound SMTP. Confirm host and port from the providers table and verify outbound 587/465 is open from the runner."
            case "ETLS":
                "The server's TLS setup is not accepted. For a self-signed or hostname-mismatched certificate, re-issue it with a proper CA, or tick Accept unverified certificates (a security trade-off)."
            case "EPOLICY":
                "Posthorn refused this connection on purpose. Port 25 is not allowed: use 587 or 465. Private addresses need an operator allowlist (--allow-private-egress)."
            default:
                nil
            }
        }
    }

    /// Whether trying again can help.
    public enum Disposition: String, Sendable, Hashable {
        /// Nothing was delivered; the same attempt may succeed later (4xx, a drop before the final dot).
        case transient
        /// Nothing was delivered; retrying unchanged will fail again (5xx, configuration).
        case permanent
        /// The message may or may not have been accepted: the connection failed after the final
        /// dot. Never resent automatically (a short timeout here manufactures duplicates).
        case ambiguous
    }

    /// The family.
    public var code: Code
    /// Whether retrying can help.
    public var disposition: Disposition
    /// One human sentence, scrubbed.
    public var message: String
    /// The server's reply that caused the error, scrubbed, when there was one.
    public var reply: SMTPReply?
    /// Recipients refused along the way.
    public var rejectedRecipients: [RecipientRejection]

    /// Creates an error.
    public init(
        _ code: Code, _ disposition: Disposition, _ message: String, reply: SMTPReply? = nil,
        rejectedRecipients: [RecipientRejection] = []
    ) {
        self.code = code
        self.disposition = disposition
        self.message = message
        self.reply = reply
        self.rejectedRecipients = rejectedRecipients
    }

    /// Whether trying again later may help.
    public var isTransient: Bool { disposition == .transient }

    /// `EAUTH: authentication failed (535 5.7.8 bad credentials)`.
    public var description: String {
        var text = "\(code.rawValue): \(message)"
        if let reply { text += " (\(reply.code) \(reply.lines.joined(separator: " ")))" }
        return text
    }
}

/// A recipient the server refused, with its reply.
public struct RecipientRejection: Sendable, Hashable {
    /// The address as sent in `RCPT TO`.
    public var address: String
    /// The reply code.
    public var code: Int
    /// The RFC 3463 code, when the server sent one.
    public var enhancedCode: EnhancedStatusCode?
    /// The server's text, scrubbed.
    public var text: String

    /// Creates a rejection from a reply.
    public init(address: String, reply: SMTPReply) {
        self.address = address
        self.code = reply.code
        self.enhancedCode = reply.enhancedCode
        self.text = reply.text
    }
}
