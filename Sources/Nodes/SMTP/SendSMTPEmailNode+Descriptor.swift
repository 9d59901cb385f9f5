import Flows
import MIME

extension SendSMTPEmailNode {
    /// What a `{{…}}` value inserted into an address field among other text may not contain: the
    /// scalars that give an address list its structure (separators, the brackets and quotes that
    /// delimit an address or a display name) and line breaks, from MIME's one definition that its
    /// list parser also splits on. `Welcome <{{trigger.body.email}}>` then stays one recipient
    /// whatever a webhook caller sends; a field that is exactly one placeholder still takes a whole
    /// list, by the author's choice.
    static let addressInsertionForbids = AddressListSyntax.structuralScalars

    /// The form, in the spec's words (Parameter reference), with the attachment cap this server
    /// enforces.
    static func nodeDescriptor(limits: EmailLimits) -> NodeDescriptor {
        var descriptor = nodeDescriptor
        if let index = descriptor.parameters.firstIndex(where: { $0.name == "attachments" }) {
            descriptor.parameters[index].maxItems = limits.maximumAttachments
        }
        return descriptor
    }

    static let nodeDescriptor = NodeDescriptor(
        type: "smtp.send", label: "Send SMTP Email",
        summary: "Send an email from your own SMTP server (Gmail, Outlook, SendGrid, Mailgun, AWS SES, or any corporate relay).",
        parameters: [
            NodeParameter(name: "credential", label: "Credential", kind: .credential, required: true,
                          help: "The SMTP credential to use. Workspace-scoped."),
            NodeParameter(name: "to", label: "To", kind: .string, required: true,
                          help: "One or more recipients, comma-separated. Supports Name <addr@example.com>.",
                          insertionForbids: addressInsertionForbids),
            NodeParameter(name: "from", label: "From", kind: .string,
                          help: "Override the From address. Must match an address the SMTP server allows.",
                          insertionForbids: addressInsertionForbids),
            NodeParameter(name: "cc", label: "CC", kind: .string, help: "Same syntax as To.",
                          insertionForbids: addressInsertionForbids),
            NodeParameter(name: "bcc", label: "BCC", kind: .string, help: "Same syntax as To. Hidden in delivered headers.",
                          insertionForbids: addressInsertionForbids),
            NodeParameter(name: "replyTo", label: "Reply-To", kind: .string, help: "Single address.",
                          insertionForbids: addressInsertionForbids),
            NodeParameter(name: "subject", label: "Subject", kind: .string, help: "RFC limit: 998 characters."),
            NodeParameter(name: "bodyFormat", label: "Body format", kind: .options, options: ["text", "html"],
                          defaultValue: "text", help: "Picks which body field is sent."),
            NodeParameter(name: "body", label: "Body", kind: .text,
                          help: "Used when Body format = text. Also used as HTML fallback if html_body is empty."),
            NodeParameter(name: "htmlBody", label: "HTML body", kind: .text, help: "Used when Body format = html.",
                          visibleWhen: .init(parameter: "bodyFormat", equals: ["html"])),
            NodeParameter(name: "priority", label: "Priority", kind: .options, options: ["low", "normal", "high"],
                          defaultValue: "normal", help: "Sets the X-Priority header."),
            NodeParameter(name: "inReplyTo", label: "In reply to", kind: .string,
                          help: "The Message-ID of the email this one answers, e.g. {{steps.send.output.messageId}}: clients show them as one thread."),
            NodeParameter(name: "references", label: "References", kind: .string,
                          help: "The thread's Message-IDs, oldest first, separated by spaces (at most 100)."),
            NodeParameter(name: "listUnsubscribe", label: "Unsubscribe link", kind: .string,
                          help: "mailto: and/or https: addresses, comma-separated. Writes List-Unsubscribe; an https one also offers one-click unsubscribe (RFC 8058), which large mailbox providers require of bulk senders."),
            NodeParameter(name: "dkimDomain", label: "DKIM domain", kind: .string,
                          help: "Sign with this sending domain's keys (Domains page). Empty: the From address's domain signs when it has an active key."),
            NodeParameter(name: "headers", label: "Custom headers", kind: .json,
                          help: "Up to 50 entries. Newlines and reserved headers (From, To, Message-ID, Date…) are rejected.",
                          itemFields: headerFields, maxItems: EmailRules.maximumCustomHeaders),
            NodeParameter(name: "attachments", label: "Attachments", kind: .json,
                          help: "URL / Base64 / Buffer. URL attachments are fetched with DNS pinning and a 2xx-only redirect policy.",
                          itemFields: attachmentFields, maxItems: EmailLimits().maximumAttachments),
            NodeParameter(name: "allowPartialDelivery", label: "Allow partial delivery", kind: .boolean, defaultValue: false,
                          help: "Succeed when some recipients were refused (they are listed in the output). Off: the step fails."),
            NodeParameter(name: "ignoreSuppression", label: "Send to suppressed addresses", kind: .boolean, defaultValue: false,
                          help: "Off: addresses on the workspace's suppression list (hard bounces, complaints) are left out of the envelope and listed in the output's rejected as suppressed. On: for mail a person asked for, like a password reset."),
        ],
        // Running the step twice sends the email twice: after a crash mid-send the run is ambiguous.
        isIdempotent: false,
        // The spec: "Default for new nodes is stop — fail fast instead of swallowing send errors."
        defaultOnError: .stop,
        keywords: ["email", "mail", "smtp", "send", "message", "newsletter", "gmail", "outlook", "sendgrid", "mailgun", "ses"],
        outputs: [
            .init("messageId", "The Message-ID header of the email sent."),
            .init("dkim", "The DKIM signatures: [{domain, selector, algorithm}], empty when unsigned."),
            .init("accepted", "The recipients the server accepted."),
            .init("rejected", "The recipients it refused: address, code, enhanced code, text."),
            .init("response", "The server's reply to the end of the message."),
            .init("envelope.from", "The envelope sender (MAIL FROM)."),
            .init("envelope.to", "Every envelope recipient, To, CC and BCC."),
            .init("size", "The message's size in bytes."),
            .init("tlsVersion", "The TLS version of the connection, or null without TLS."),
            .init("timings.connectMs", "Milliseconds to connect."),
            .init("timings.dataMs", "Milliseconds from DATA to the server's reply."),
        ])

    /// One row of Custom headers.
    static let headerFields = [
        NodeParameter(name: "name", label: "Name", kind: .string, required: true,
                      help: "The header name, e.g. X-Campaign. Reserved headers (From, To, Message-ID…) are rejected."),
        NodeParameter(name: "value", label: "Value", kind: .string, help: "The header value. Newlines are rejected."),
    ]

    /// One row of Attachments.
    static let attachmentFields = [
        NodeParameter(name: "source", label: "Source", kind: .options, required: true, options: ["url", "base64", "buffer"],
                      help: "url: fetched from a public http(s) address. base64: the content as base64 text. "
                          + "buffer: bytes from an earlier step, e.g. {{steps.fetch.output.body}}."),
        NodeParameter(name: "url", label: "URL", kind: .string,
                      help: "For source url: http:// or https:// only, fetched with DNS pinning, no redirects, 2xx only.",
                      visibleWhen: .init(parameter: "source", equals: ["url"])),
        NodeParameter(name: "content", label: "Content", kind: .text,
                      help: "For source base64: the base64 text. For source buffer: a reference to an earlier step's bytes.",
                      visibleWhen: .init(parameter: "source", equals: ["base64", "buffer"])),
        NodeParameter(name: "filename", label: "File name", kind: .string,
                      help: "The name the recipient sees. Default: from the response's Content-Disposition, else the URL path."),
        NodeParameter(name: "contentType", label: "Content type", kind: .string,
                      help: "e.g. application/pdf. Default: from the response, else from the file name."),
        NodeParameter(name: "inline", label: "Inline", kind: .boolean, defaultValue: false,
                      help: "Show the file inside the HTML body (an image referenced as cid:…) instead of as a download."),
        NodeParameter(name: "contentId", label: "Content-ID", kind: .string,
                      help: "Required when inline: the HTML refers to the file as cid:<this value>.",
                      visibleWhen: .init(parameter: "inline", equals: [true])),
    ]
}
