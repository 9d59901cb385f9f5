public import Flows
import MIME

extension SendSMTPEmailNode {
    /// The message rules that can be checked on parameters as written, before any run, with the
    /// same messages a send gives: address fields written out (without `{{…}}`) that do not parse,
    /// a subject or custom header with CR/LF or a reserved or malformed name, more custom headers
    /// or attachments than allowed. A value holding a template is checked when the step runs.
    public func problems(in parameters: [String: JSONValue], field: String) -> [FlowValidationError] {
        var problems: [FlowValidationError] = []
        func note(_ error: EmailValidationError) {
            problems.append(FlowValidationError(field: "\(field).\(error.field)", message: error.message))
        }
        for name in ["to", "cc", "bcc"] {
            guard let text = Self.literal(parameters[name]) else { continue }
            do { _ = try MailboxAddress.parseList(text, field: name) } catch { note(error) }
        }
        for (name, rule) in [("from", "From must be a single mailbox"), ("replyTo", "Reply-To must be a single address")] {
            guard let text = Self.literal(parameters[name]) else { continue }
            do { _ = try MailboxAddress.parseSingle(text, field: name, ruleMessage: rule) } catch { note(error) }
        }
        if let subject = Self.literal(parameters["subject"]) {
            do { try EmailRules.checkSubject(subject) } catch { note(error) }
        }
        for (name, header) in [("inReplyTo", "In-Reply-To"), ("references", "References")] {
            guard let text = Self.literal(parameters[name]) else { continue }
            do { _ = try EmailRequest.messageIDList(text, field: name, header: header) } catch { note(error) }
        }
        if let text = Self.literal(parameters["listUnsubscribe"]) {
            do { _ = try EmailRequest.unsubscribeAddresses(text) } catch { note(error) }
        }
        if case .array(let headers)? = parameters["headers"] {
            if headers.count > EmailRules.maximumCustomHeaders {
                problems.append(FlowValidationError(
                    field: "\(field).headers", message: "At most \(EmailRules.maximumCustomHeaders) custom headers are allowed"))
            }
            for (index, header) in headers.enumerated() {
                guard case .object(let pair) = header else { continue }
                do {
                    try EmailRules.checkCustomHeader(name: Self.literal(pair["name"]), value: Self.literal(pair["value"]), index: index)
                } catch {
                    note(error)
                }
            }
        }
        if case .array(let attachments)? = parameters["attachments"], attachments.count > emailLimits.maximumAttachments {
            problems.append(FlowValidationError(
                field: "\(field).attachments",
                message: "At most \(emailLimits.maximumAttachments) attachments are allowed in one message; this one has \(attachments.count)"))
        }
        return problems
    }

    /// A string value written out: `nil` for a template (checked when rendered) or a non-string.
    private static func literal(_ value: JSONValue?) -> String? {
        guard case .string(let text)? = value, !text.contains("{{") else { return nil }
        return text
    }
}
