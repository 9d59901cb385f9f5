/// What a bounce message says: which message it is about and what happened to each recipient.
///
/// Read from an RFC 3464 delivery status notification (`multipart/report;
/// report-type=delivery-status`), an ARF complaint (`report-type=feedback-report`), or, for the common non-standard formats (old Gmail and qmail
/// texts, Exchange notices without a status part), from the text.
public struct BounceReport: Sendable, Hashable {
    /// How the report was read.
    public enum Format: String, Sendable, Hashable {
        /// A `message/delivery-status` part (RFC 3464).
        case deliveryStatus = "rfc3464"
        /// The human-readable text of a notice without one.
        case text
        /// A spam complaint: a `message/feedback-report` part (ARF, RFC 5965) as mailbox providers'
        /// feedback loops send them.
        case feedbackReport = "arf"
    }

    public var format: Format
    /// The Message-ID of the message that bounced, from the returned message or its headers.
    public var messageID: String?
    /// `Original-Envelope-Id` (the ENVID the send asked for), when the reporting server kept it.
    public var envelopeID: String?
    /// The server that wrote the report (`Reporting-MTA`).
    public var reportingMTA: String?
    public var recipients: [BounceRecipient]

    public init(
        format: Format, messageID: String? = nil, envelopeID: String? = nil, reportingMTA: String? = nil,
        recipients: [BounceRecipient]
    ) {
        self.format = format
        self.messageID = messageID
        self.envelopeID = envelopeID
        self.reportingMTA = reportingMTA
        self.recipients = recipients
    }
}

/// One recipient's fate.
public struct BounceRecipient: Sendable, Hashable {
    /// RFC 3464's actions, and `complained` for the recipient of an ARF complaint (never read from
    /// a delivery status part).
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case failed, delayed, delivered, relayed, expanded, complained
    }

    /// The address the report names (`Final-Recipient`, else `Original-Recipient`), lowercased domain.
    public var address: String
    public var action: Action
    /// The enhanced status code, `5.1.1`; `nil` when the report gives none.
    public var status: String?
    /// The remote server's words (`Diagnostic-Code` without its type), at most 1,000 characters.
    public var diagnostic: String?
    /// The server that refused it (`Remote-MTA`).
    public var remoteMTA: String?

    public init(address: String, action: Action, status: String?, diagnostic: String? = nil, remoteMTA: String? = nil) {
        self.address = address
        self.action = action
        self.status = status
        self.diagnostic = diagnostic
        self.remoteMTA = remoteMTA
    }

    /// A permanent failure: `failed` with a 5.x.x status (or none).
    public var isHardBounce: Bool { action == .failed && (status?.hasPrefix("5.") ?? true) }
}

/// Why a message could not be read as a bounce.
public enum BounceParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Larger than ``BounceParser/maximumSize``.
    case tooLarge(bytes: Int)
    /// No header block, or nothing that reads as a delivery report.
    case notABounce(String)

    public var description: String {
        switch self {
        case .tooLarge(let bytes): "The message is \(bytes) bytes; bounces are read up to \(BounceParser.maximumSize)"
        case .notABounce(let why): "Not a bounce: \(why)"
        }
    }
}
