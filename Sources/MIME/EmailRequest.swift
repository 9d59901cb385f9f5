public import Foundation

/// One email as a user describes it: the Send SMTP Email node's parameters, before any rule is checked.
///
/// Address fields hold the raw text a user typed or a template produced (`"Doe, Jane" <jane@example.com>,
/// bob@example.com`); ``EmailRequest/validated()`` parses them under the strict grammar of
/// ``MailboxAddress``. Nothing here is trusted until validation has passed.
public struct EmailRequest: Sendable, Hashable {
    /// The sender mailbox: exactly one address, optionally with a display name.
    public var from: String
    /// Comma-separated recipient list for the To header.
    public var to: String
    /// Comma-separated recipient list for the Cc header.
    public var cc: String
    /// Comma-separated recipient list delivered in the envelope only; never rendered as a header.
    public var bcc: String
    /// A single reply address, or empty for none.
    public var replyTo: String
    /// The subject line (at most ``EmailRules/maximumSubjectLength`` characters).
    public var subject: String
    /// Picks which body is sent; see ``BodyFormat``.
    public var bodyFormat: BodyFormat
    /// The plain-text body; also the fallback when the HTML body is empty.
    public var body: String
    /// The HTML body, used when ``bodyFormat`` is ``BodyFormat/html``.
    public var htmlBody: String
    /// Sets `X-Priority`, `X-MSMail-Priority` and `Importance`.
    public var priority: Priority
    /// Extra header fields, in order. Reserved names are refused by validation.
    public var headers: [CustomHeader]
    /// Attachments and inline images, in order.
    public var attachments: [EmailAttachment]
    /// A Message-ID to use instead of a generated one (with or without angle brackets).
    public var messageID: String?
    /// The Date header's instant; the injected clock's time when `nil`.
    public var date: Date?
    /// `In-Reply-To`: the Message-ID(s) of the message this one answers, so clients thread it.
    public var inReplyTo: String = ""
    /// `References`: the thread's Message-IDs, oldest first, separated by spaces or commas.
    public var references: String = ""
    /// `List-Unsubscribe`: `mailto:` and/or `https:` addresses, comma-separated. An https one also
    /// writes `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
    public var listUnsubscribe: String = ""

    /// Creates a request; every field but `from` defaults to empty.
    public init(
        from: String,
        to: String = "",
        cc: String = "",
        bcc: String = "",
        replyTo: String = "",
        subject: String = "",
        bodyFormat: BodyFormat = .text,
        body: String = "",
        htmlBody: String = "",
        priority: Priority = .normal,
        headers: [CustomHeader] = [],
        attachments: [EmailAttachment] = [],
        messageID: String? = nil,
        date: Date? = nil
    ) {
        self.from = from
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.replyTo = replyTo
        self.subject = subject
        self.bodyFormat = bodyFormat
        self.body = body
        self.htmlBody = htmlBody
        self.priority = priority
        self.headers = headers
        self.attachments = attachments
        self.messageID = messageID
        self.date = date
    }
}

/// Which body field the message carries (the spec's "Body format").
public enum BodyFormat: String, Sendable, Hashable, CaseIterable {
    /// Send ``EmailRequest/body`` as `text/plain`.
    case text
    /// Send ``EmailRequest/htmlBody`` as `text/html`, with ``EmailRequest/body`` as its plain-text
    /// alternative when given. An empty HTML body falls back to the text body.
    case html
}

/// Message priority, rendered as the three headers mail clients read.
public enum Priority: String, Sendable, Hashable, CaseIterable {
    case low, normal, high
}

/// A user-supplied header field.
public struct CustomHeader: Sendable, Hashable {
    /// The field name, e.g. `X-Campaign`.
    public var name: String
    /// The unstructured field value; non-ASCII text is sent as RFC 2047 encoded-words.
    public var value: String

    /// Creates a header field.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A file carried by the message, either as a download or inline (referenced from HTML by `cid:`).
public struct EmailAttachment: Sendable, Hashable {
    /// Where an attachment's bytes come from.
    public enum Content: Sendable, Hashable {
        /// Bytes already in memory (a decoded base64 parameter, an upstream step's output).
        case bytes([UInt8])
        /// A local file, read in chunks while the message is rendered so it is never held whole.
        /// Only the CLI uses this; flows never read local paths.
        case file(path: String)
    }

    /// The file name shown to the recipient; RFC 2231-encoded when it is not plain ASCII.
    public var filename: String
    /// The bytes.
    public var content: Content
    /// The media type; derived from the file name's extension when `nil`.
    public var contentType: String?
    /// When set, the part is sent `inline` with this Content-ID inside `multipart/related`.
    public var contentID: String?

    /// Creates an attachment.
    public init(filename: String, content: Content, contentType: String? = nil, contentID: String? = nil) {
        self.filename = filename
        self.content = content
        self.contentType = contentType
        self.contentID = contentID
    }

    /// Whether the part is an inline image (has a Content-ID).
    public var isInline: Bool { contentID != nil }
}
