// MARK: - What a session carries and how it ends

/// How the connection is protected (the credential's "Security" choice).
public enum SMTPSecurity: String, Sendable, Hashable, CaseIterable {
    /// TLS from the first byte (port 465).
    case implicitTLS = "implicit-tls"
    /// Plain TCP upgraded with STARTTLS, which is required: a server that does not offer it, or
    /// refuses it, fails the connection before any credential or message is sent (port 587).
    case startTLS = "starttls"
    /// No encryption at all; only when explicitly chosen, for legacy relays.
    case plaintext
}

/// What one message transaction needs from the envelope.
public struct SMTPTransaction: Sendable, Hashable {
    /// The reverse path.
    public var mailFrom: String
    /// The recipients, each sent as one `RCPT TO`.
    public var recipients: [String]
    /// The message size in octets, declared with `SIZE=` and checked against the server's limit.
    public var size: Int?
    /// Whether an address needs SMTPUTF8 (the message then also carries UTF-8 headers).
    public var requiresSMTPUTF8: Bool
    /// Delivery status notification request (RFC 3461), used when the server offers DSN.
    public var dsn: DSNRequest?

    /// Creates a transaction.
    public init(mailFrom: String, recipients: [String], size: Int? = nil, requiresSMTPUTF8: Bool = false, dsn: DSNRequest? = nil) {
        self.mailFrom = mailFrom
        self.recipients = recipients
        self.size = size
        self.requiresSMTPUTF8 = requiresSMTPUTF8
        self.dsn = dsn
    }
}

/// RFC 3461 parameters.
public struct DSNRequest: Sendable, Hashable {
    /// `NOTIFY=` values: `SUCCESS`, `FAILURE`, `DELAY`, or `NEVER` alone.
    public var notify: [String]
    /// `RET=FULL` or `RET=HDRS`.
    public var returnFullMessage: Bool
    /// `ENVID=`, xtext-encoded by the caller; usually the Message-ID.
    public var envelopeID: String?

    /// Creates a request.
    public init(notify: [String] = ["FAILURE"], returnFullMessage: Bool = false, envelopeID: String? = nil) {
        self.notify = notify
        self.returnFullMessage = returnFullMessage
        self.envelopeID = envelopeID
    }
}

/// The server's verdict on one transaction.
public struct SMTPTransactionOutcome: Sendable, Hashable {
    /// Recipients the server accepted.
    public var accepted: [String]
    /// Recipients the server refused, with its replies.
    public var rejected: [RecipientRejection]
    /// The reply to the final dot.
    public var response: SMTPReply

    /// Creates an outcome.
    public init(accepted: [String], rejected: [RecipientRejection], response: SMTPReply) {
        self.accepted = accepted
        self.rejected = rejected
        self.response = response
    }
}

/// Which timeout guards what the client now waits for (RFC 5321 section 4.5.3.2).
public enum SMTPWaitPhase: Sendable, Hashable {
    /// The 220 greeting.
    case greeting
    /// The TLS handshake after STARTTLS (the connect timeout).
    case tlsHandshake
    /// The reply to a command (EHLO, AUTH, MAIL, RCPT, RSET, NOOP, QUIT).
    case command
    /// The reply to DATA (the last command of a pipelined envelope).
    case dataInitiation
    /// The socket taking the next block of message data.
    case dataBlock
    /// The reply to the final dot.
    case finalReply
}
