import Foundation
@testable import MIME
import TestSupport
import Testing

@Suite("Threading and unsubscribe headers")
struct ThreadingTests {
    static func composed(_ configure: (inout EmailRequest) -> Void) throws -> ParsedMessage {
        var request = EmailRequest(from: "team@example.com", to: "ada@example.net", subject: "Re: hello", body: "b")
        configure(&request)
        return ParsedMessage(try MessageComposer().compose(try request.validated()).bytes())
    }

    @Test("In-Reply-To and References thread the message; a mailto-only List-Unsubscribe offers no one-click")
    func headers() throws {
        let message = try Self.composed {
            $0.inReplyTo = "first@example.com"
            $0.references = "<zero@example.com>, first@example.com"
            $0.listUnsubscribe = "mailto:stop@example.com"
        }
        #expect(message.values("In-Reply-To") == ["<first@example.com>"])
        #expect(message.values("References") == ["<zero@example.com> <first@example.com>"])
        #expect(message.values("List-Unsubscribe") == ["<mailto:stop@example.com>"])
        #expect(message.values("List-Unsubscribe-Post").isEmpty)
        let oneClick = try Self.composed { $0.listUnsubscribe = "https://example.com/u?id=1" }
        #expect(oneClick.values("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"])
    }

    @Test("refused with the field and the rule", arguments: [
        ("references", "<a@example.com>\r\nBcc: x@example.com", "Header value contains forbidden characters"),
        ("references", "<a@example.com> not-an-id", "References must be Message-IDs like <id@domain>"),
        ("inReplyTo", "<a@b@c>", "In-Reply-To must be Message-IDs like <id@domain>"),
        ("listUnsubscribe", "http://example.com/u", "List-Unsubscribe takes mailto: and https: addresses, comma-separated"),
        ("listUnsubscribe", "mailto:nobody", "List-Unsubscribe takes mailto: and https: addresses, comma-separated"),
        ("listUnsubscribe", "https://example.com/a b", "List-Unsubscribe takes mailto: and https: addresses, comma-separated"),
    ])
    func refused(field: String, value: String, message: String) {
        var request = EmailRequest(from: "team@example.com", to: "ada@example.net", body: "b")
        switch field {
        case "references": request.references = value
        case "inReplyTo": request.inReplyTo = value
        default: request.listUnsubscribe = value
        }
        #expect(throws: EmailValidationError.self) { _ = try request.validated() }
        do {
            _ = try request.validated()
        } catch {
            #expect(error.field == field)
            #expect(error.message == message)
        }
    }

    @Test("with the parameter, a custom List-Unsubscribe header is refused; without, it is the sender's own")
    func customHeader() throws {
        var request = EmailRequest(from: "team@example.com", to: "ada@example.net", body: "b")
        request.headers = [CustomHeader(name: "List-Unsubscribe", value: "<mailto:x@example.com>")]
        _ = try request.validated()
        request.listUnsubscribe = "mailto:u@example.com"
        do {
            _ = try request.validated()
            Issue.record("accepted a second List-Unsubscribe")
        } catch {
            #expect(error.field == "headers[0].name")
            #expect(error.rule == .reservedHeader)
        }
    }
}
