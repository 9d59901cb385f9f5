import Foundation
import Testing
@testable import MIME

@Suite("The spec's rules")
struct ValidationRulesTests {
    static func request(_ change: (inout EmailRequest) -> Void) -> EmailRequest {
        var request = EmailRequest(from: "sender@example.com", to: "rcpt@example.com", subject: "Hi", body: "Hello")
        change(&request)
        return request
    }

    static func failure(_ request: EmailRequest) -> EmailValidationError? {
        do {
            _ = try request.validated()
            return nil
        } catch {
            return error
        }
    }

    // MARK: Forbidden characters

    struct Injection: CustomTestStringConvertible, Sendable {
        var field: String
        var apply: @Sendable (inout EmailRequest, String) -> Void
        var testDescription: String { field }
    }

    static let injections: [Injection] = [
        .init(field: "from") { $0.from = "a@example.com\($1)" },
        .init(field: "to") { $0.to = "a@example.com\($1)" },
        .init(field: "cc") { $0.cc = "Jane\($1) <a@example.com>" },
        .init(field: "bcc") { $0.bcc = "a@example.com,\($1)b@example.com" },
        .init(field: "replyTo") { $0.replyTo = "a@example.com\($1)" },
        .init(field: "subject") { $0.subject = "Hello\($1)Bcc: victim@example.com" },
        .init(field: "headers[0].name") { $0.headers = [CustomHeader(name: "X-A\($1)", value: "v")] },
        .init(field: "headers[1].value") { $0.headers = [CustomHeader(name: "X-A", value: "ok"), CustomHeader(name: "X-B", value: "v\($1)X-C: 1")] },
        .init(field: "attachments[0].filename") { $0.attachments = [EmailAttachment(filename: "a\($1).pdf", content: .bytes([1]))] },
        .init(field: "attachments[0].contentId") { $0.attachments = [EmailAttachment(filename: "a.png", content: .bytes([1]), contentID: "x\($1)")] },
        .init(field: "messageId") { $0.messageID = "<a@example.com>\($1)" },
    ]

    @Test("CR, LF and NUL are refused in every header field", arguments: injections, ["\r", "\n", "\r\n", "\u{0}"])
    func forbiddenCharacters(_ injection: Injection, _ character: String) {
        let error = Self.failure(Self.request { injection.apply(&$0, character) })
        #expect(error == EmailValidationError(
            field: injection.field, rule: .forbiddenCharacters, message: "Header value contains forbidden characters"))
    }

    @Test("bodies may contain line breaks")
    func bodiesMayHaveNewlines() throws {
        let email = try Self.request { $0.body = "line 1\r\nline 2\nline 3\r" }.validated()
        #expect(email.textBody == "line 1\r\nline 2\nline 3\r")
    }

    // MARK: Reserved headers

    @Test("every reserved header name is refused, in any case", arguments: EmailRules.reservedHeaderNames.sorted())
    func reservedHeaders(_ name: String) {
        for variant in [name, name.uppercased(), name.prefix(1).uppercased() + name.dropFirst()] {
            let error = Self.failure(Self.request { $0.headers = [CustomHeader(name: variant, value: "x")] })
            #expect(error == EmailValidationError(field: "headers[0].name", rule: .reservedHeader, message: "Reserved header is not allowed"))
        }
    }

    @Test("the reserved list is exactly the spec's")
    func reservedListIsTheSpecs() {
        #expect(EmailRules.reservedHeaderNames.count == 22)
        for name in ["X-Mailer", "List-Unsubscribe", "X-Priority", "Sender-Id", "From-Name"] {
            #expect(!EmailRules.isReservedHeaderName(name))
        }
    }

    @Test("header names must be RFC 5322 field names", arguments: [
        ("X-Campaign", true), ("X_Odd.Name!", true), ("", false), ("X Campaign", false), ("X:Campaign", false),
        ("X-Ünicode", false), (String(repeating: "X", count: 76), true), (String(repeating: "X", count: 77), false),
    ])
    func headerNames(_ name: String, _ valid: Bool) {
        let error = Self.failure(Self.request { $0.headers = [CustomHeader(name: name, value: "v")] })
        #expect((error == nil) == valid)
        if !valid { #expect(error?.rule == .invalidHeaderName && error?.field == "headers[0].name") }
    }

    // MARK: Limits at their boundaries

    @Test("subject: 998 characters pass, 999 fail", arguments: [("a", 998, true), ("a", 999, false), ("é", 998, true), ("é", 999, false), ("😀", 998, true), ("😀", 999, false)])
    func subjectLimit(_ unit: String, _ count: Int, _ valid: Bool) {
        let error = Self.failure(Self.request { $0.subject = String(repeating: unit, count: count) })
        #expect(error == (valid ? nil : EmailValidationError(
            field: "subject", rule: .subjectTooLong, message: "Subject is longer than 998 characters")))
    }

    @Test("custom headers: 50 pass, 51 fail", arguments: [(50, true), (51, false)])
    func headerCount(_ count: Int, _ valid: Bool) {
        let headers = (0..<count).map { CustomHeader(name: "X-H\($0)", value: "v") }
        let error = Self.failure(Self.request { $0.headers = headers })
        #expect(error == (valid ? nil : EmailValidationError(
            field: "headers", rule: .tooManyHeaders, message: "At most 50 custom headers are allowed")))
    }

    @Test("body and HTML body: 10,000,000 bytes pass, one more fails",
          arguments: [("body", 10_000_000, true), ("body", 10_000_001, false), ("htmlBody", 10_000_000, true), ("htmlBody", 10_000_001, false)])
    func bodyLimit(_ field: String, _ bytes: Int, _ valid: Bool) {
        let text = String(repeating: "a", count: bytes)
        let error = Self.failure(Self.request {
            if field == "body" { $0.body = text } else { $0.htmlBody = text; $0.bodyFormat = .html }
        })
        #expect(error == (valid ? nil : EmailValidationError(
            field: field, rule: .bodyTooLarge, message: "Body is larger than 10 MB (10,000,000 bytes of UTF-8)")))
    }

    @Test("the body limit counts UTF-8 bytes, not characters")
    func bodyLimitCountsBytes() {
        // 3,333,334 × "€" (3 bytes each) = 10,000,002 bytes in 3,333,334 characters.
        let error = Self.failure(Self.request { $0.body = String(repeating: "€", count: 3_333_334) })
        #expect(error?.rule == .bodyTooLarge)
    }

    // MARK: Required fields and body format

    @Test("a sender and a recipient are required")
    func requiredFields() {
        #expect(Self.failure(Self.request { $0.from = "  " })?.rule == .missingSender)
        #expect(Self.failure(Self.request { $0.to = "" })?.rule == .missingRecipient)
        #expect(Self.failure(Self.request { $0.to = ""; $0.bcc = "hidden@example.com" }) == nil)
    }

    @Test("body format picks the body", arguments: [
        (BodyFormat.text, "T", "<b>H</b>", "T", nil),
        (.html, "T", "<b>H</b>", "T", "<b>H</b>"),
        (.html, "", "<b>H</b>", nil, "<b>H</b>"),
        (.html, "T", "", "T", nil),
        (.text, "", "<b>H</b>", "", nil),
    ] as [(BodyFormat, String, String, String?, String?)])
    func bodyFormat(_ format: BodyFormat, _ body: String, _ html: String, _ text: String?, _ sentHTML: String?) throws {
        let email = try Self.request { $0.bodyFormat = format; $0.body = body; $0.htmlBody = html }.validated()
        #expect(email.textBody == text)
        #expect(email.htmlBody == sentHTML)
    }

    @Test("Message-ID is normalised to angle brackets or refused", arguments: [
        ("abc@example.com", "<abc@example.com>"), ("<abc.def@mail.example.com>", "<abc.def@mail.example.com>"),
        ("abc", nil), ("<a@b@c>", nil), ("a b@example.com", nil), ("<>", nil), ("é@example.com", nil),
    ] as [(String, String?)])
    func messageID(_ given: String, _ expected: String?) {
        let result = Result { try Self.request { $0.messageID = given }.validated().messageID }
        switch result {
        case .success(let id): #expect(id == expected)
        case .failure(let error): #expect(expected == nil && (error as? EmailValidationError)?.field == "messageId")
        }
    }

    @Test("attachment parameters are checked")
    func attachmentRules() {
        func rule(_ attachment: EmailAttachment) -> EmailValidationError? {
            Self.failure(Self.request { $0.attachments = [attachment] })
        }
        #expect(rule(EmailAttachment(filename: "a.pdf", content: .bytes([]), contentType: "application/pdf")) == nil)
        #expect(rule(EmailAttachment(filename: "a.pdf", content: .bytes([]), contentType: "application/pdf; x=1"))?.field == "attachments[0].contentType")
        #expect(rule(EmailAttachment(filename: "a\u{1}.pdf", content: .bytes([])))?.field == "attachments[0].filename")
        #expect(rule(EmailAttachment(filename: "a.png", content: .bytes([]), contentID: "a b"))?.field == "attachments[0].contentId")
        #expect(rule(EmailAttachment(filename: "a.pdf", content: .file(path: "/nonexistent/posthorn/a.pdf")))?.field == "attachments[0].path")
        let twice = Self.failure(Self.request {
            $0.attachments = [EmailAttachment(filename: "a.png", content: .bytes([]), contentID: "logo"),
                              EmailAttachment(filename: "b.png", content: .bytes([]), contentID: "logo")]
        })
        #expect(twice?.field == "attachments[1].contentId")
    }

    @Test("the envelope has every recipient once, Bcc included")
    func envelope() throws {
        let email = try Self.request {
            $0.to = "a@example.com, B <b@example.com>"; $0.cc = "a@example.com"; $0.bcc = "hidden@example.com"
        }.validated()
        #expect(email.envelope.mailFrom == "sender@example.com")
        #expect(email.envelope.recipients == ["a@example.com", "b@example.com", "hidden@example.com"])
        #expect(!email.envelope.requiresSMTPUTF8)
    }
}
