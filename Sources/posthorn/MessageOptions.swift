public import ArgumentParser
import Foundation
public import MIME

extension BodyFormat: ExpressibleByArgument {}
extension Priority: ExpressibleByArgument {}

/// The flags that describe a message, shared by every command that composes one.
struct MessageOptions: ParsableArguments {
    @Option(help: "Sender mailbox: 'addr@example.com' or 'Name <addr@example.com>'.")
    var from: String = ""

    @Option(help: "Recipients, comma-separated (repeatable).")
    var to: [String] = []

    @Option(help: "Cc recipients, comma-separated (repeatable).")
    var cc: [String] = []

    @Option(help: "Bcc recipients, comma-separated (repeatable); never shown in headers.")
    var bcc: [String] = []

    @Option(name: .customLong("reply-to"), help: "A single reply address.")
    var replyTo: String = ""

    @Option(help: "Subject line (at most 998 characters).")
    var subject: String = ""

    @Option(name: .customLong("body-format"), help: "Which body is sent: text or html.")
    var bodyFormat: BodyFormat = .text

    @Option(help: "Plain-text body.")
    var body: String?

    @Option(name: .customLong("html-body"), help: "HTML body.")
    var htmlBody: String?

    @Option(name: .customLong("body-file"), help: "Read the plain-text body from a UTF-8 file.")
    var bodyFile: String?

    @Option(name: .customLong("html-body-file"), help: "Read the HTML body from a UTF-8 file.")
    var htmlBodyFile: String?

    @Option(help: "low, normal or high.")
    var priority: Priority = .normal

    @Option(name: .customLong("header"), help: "A custom header 'Name: value' (repeatable, at most 50).")
    var headers: [String] = []

    @Option(name: .customLong("attach"), help: "Attach a file (repeatable).")
    var attachPaths: [String] = []

    @Option(name: .customLong("attach-base64"), help: "Attach NAME=BASE64 content (repeatable).")
    var attachBase64: [String] = []

    @Option(name: .customLong("inline"), help: "Inline image CID=PATH, referenced as cid:CID in HTML (repeatable).")
    var inline: [String] = []

    @Option(name: .customLong("message-id"), help: "Use this Message-ID instead of a generated one; with --date the output is then reproducible, MIME boundaries included.")
    var messageID: String?

    @Option(help: "Date header as RFC 3339, e.g. 2026-11-25T10:00:00Z (default: now).")
    var date: String?

    @Option(name: .customLong("in-reply-to"), help: "The Message-ID this email answers (In-Reply-To), for threading.")
    var inReplyTo: String = ""

    @Option(help: "The thread's Message-IDs, oldest first, space-separated (References).")
    var references: String = ""

    @Option(name: .customLong("list-unsubscribe"), help: "mailto: and/or https: unsubscribe addresses, comma-separated (List-Unsubscribe; https adds one-click).")
    var listUnsubscribe: String = ""

    /// The request these flags describe; the spec's rules are checked later by `validated()`.
    func emailRequest() throws -> EmailRequest {
        var attachments: [EmailAttachment] = attachPaths.map { path in
            EmailAttachment(filename: URL(fileURLWithPath: path).lastPathComponent, content: .file(path: path))
        }
        for argument in attachBase64 {
            let field = "attachments[\(attachments.count)]"
            guard let equals = argument.firstIndex(of: "=") else {
                throw EmailValidationError(field: field, rule: .invalidAttachment, message: "Expected NAME=BASE64")
            }
            guard let data = Data(base64Encoded: String(argument[argument.index(after: equals)...])) else {
                throw EmailValidationError(field: "\(field).content", rule: .invalidAttachment, message: "Content is not valid base64")
            }
            attachments.append(EmailAttachment(filename: String(argument[..<equals]), content: .bytes(Array(data))))
        }
        for argument in inline {
            guard let equals = argument.firstIndex(of: "=") else {
                throw EmailValidationError(
                    field: "attachments[\(attachments.count)]", rule: .invalidAttachment, message: "Expected CID=PATH")
            }
            let path = String(argument[argument.index(after: equals)...])
            attachments.append(EmailAttachment(
                filename: URL(fileURLWithPath: path).lastPathComponent, content: .file(path: path),
                contentID: String(argument[..<equals])))
        }
        var request = EmailRequest(
            from: from,
            to: to.joined(separator: ", "),
            cc: cc.joined(separator: ", "),
            bcc: bcc.joined(separator: ", "),
            replyTo: replyTo,
            subject: subject,
            bodyFormat: bodyFormat,
            body: try text(body, file: bodyFile, field: "body"),
            htmlBody: try text(htmlBody, file: htmlBodyFile, field: "htmlBody"),
            priority: priority,
            headers: try customHeaders(),
            attachments: attachments,
            messageID: messageID,
            date: try parsedDate()
        )
        request.inReplyTo = inReplyTo
        request.references = references
        request.listUnsubscribe = listUnsubscribe
        return request
    }

    private func text(_ inline: String?, file: String?, field: String) throws -> String {
        switch (inline, file) {
        case (let text?, nil): return text
        case (nil, nil): return ""
        case (_?, _?):
            throw EmailValidationError(field: field, rule: .invalidFile, message: "Give the text or a file, not both")
        case (nil, let path?):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw EmailValidationError(field: field, rule: .invalidFile, message: "File cannot be read")
            }
            guard let text = String(validating: data, as: UTF8.self) else {
                throw EmailValidationError(field: field, rule: .invalidFile, message: "File is not valid UTF-8")
            }
            return text
        }
    }

    /// `Name: value`, split at the first colon; blanks after the colon are not part of the value.
    private func customHeaders() throws -> [CustomHeader] {
        try headers.enumerated().map { index, line in
            guard let colon = line.firstIndex(of: ":") else {
                throw EmailValidationError(
                    field: "headers[\(index)]", rule: .invalidHeaderName, message: "Expected 'Name: value'")
            }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            return CustomHeader(name: String(line[..<colon]), value: String(value))
        }
    }

    private func parsedDate() throws -> Date? {
        guard let date else { return nil }
        let formatter = ISO8601DateFormatter()
        if let parsed = formatter.date(from: date) { return parsed }
        formatter.formatOptions.insert(.withFractionalSeconds)
        if let parsed = formatter.date(from: date) { return parsed }
        throw EmailValidationError(field: "date", rule: .invalidDate, message: "Date must be RFC 3339, e.g. 2026-11-25T10:00:00Z")
    }
}
