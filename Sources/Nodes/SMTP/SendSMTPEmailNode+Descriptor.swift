import Flows

extension SendSMTPEmailNode {
    /// The form, in the spec's words (Parameter reference).
    static let nodeDescriptor = NodeDescriptor(
        type: "smtp.send", label: "Send SMTP Email",
        summary: "Send an email from your own SMTP server (Gmail, Outlook, SendGrid, Mailgun, AWS SES, or any corporate relay).",
        parameters: [
            NodeParameter(name: "credential", label: "Credential", kind: .credential, required: true,
                          help: "The SMTP credential to use. Workspace-scoped."),
            NodeParameter(name: "to", label: "To", kind: .string, required: true,
                          help: "One or more recipients, comma-separated. Supports Name <addr@example.com>."),
            NodeParameter(name: "from", label: "From", kind: .string,
                          help: "Override the From address. Must match an address the SMTP server allows."),
            NodeParameter(name: "cc", label: "CC", kind: .string, help: "Same syntax as To."),
            NodeParameter(name: "bcc", label: "BCC", kind: .string, help: "Same syntax as To. Hidden in delivered headers."),
            NodeParameter(name: "replyTo", label: "Reply-To", kind: .string, help: "Single address."),
            NodeParameter(name: "subject", label: "Subject", kind: .string, help: "RFC limit: 998 characters."),
            NodeParameter(name: "bodyFormat", label: "Body format", kind: .options, options: ["text", "html"],
                          defaultValue: "text", help: "Picks which body field is sent."),
            NodeParameter(name: "body", label: "Body", kind: .text,
                          help: "Used when Body format = text. Also used as HTML fallback if html_body is empty."),
            NodeParameter(name: "htmlBody", label: "HTML body", kind: .text, help: "Used when Body format = html."),
            NodeParameter(name: "priority", label: "Priority", kind: .options, options: ["low", "normal", "high"],
                          defaultValue: "normal", help: "Sets the X-Priority header."),
            NodeParameter(name: "headers", label: "Custom headers", kind: .json,
                          help: "Up to 50 entries. Newlines and reserved headers are rejected (see below)."),
            NodeParameter(name: "attachments", label: "Attachments", kind: .json,
                          help: "URL / Base64 / Buffer. URL attachments are fetched with DNS pinning and a 2xx-only redirect policy."),
            NodeParameter(name: "allowPartialDelivery", label: "Allow partial delivery", kind: .boolean, defaultValue: false,
                          help: "Succeed when some recipients were refused (they are listed in the output). Off: the step fails."),
        ],
        // Running the step twice sends the email twice: after a crash mid-send the run is ambiguous.
        isIdempotent: false)
}
