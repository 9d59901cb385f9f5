public import Foundation
import Bounces
import DKIM
import Egress
import Flows
import MIME
import NIOCore
import SMTPCore
import Secrets
import Workspaces

/// The parsers that read input from outside (webhook bodies, templates in flows, addresses,
/// SMTP replies, cron expressions, form bodies, `Content-Disposition` headers, host literals, DNS replies, bounce messages, providers' webhook events),
/// each as one function of arbitrary bytes that must never crash, hang or break its invariant.
///
/// libFuzzer drives them through `bench/fuzz TARGET MINUTES` (a sanitizer build of the
/// `PosthornFuzz` executable); `FuzzCorpusTests` replays the corpus in `Fuzz/Corpus/<target>/`
/// through the ordinary test build, so every input that once found a bug stays a regression test.
/// A broken invariant is a `preconditionFailure`, which both report as a crash.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case json
    case template
    case addressList
    case smtpReply
    case cron
    case formBody
    case contentDisposition
    case ipLiteral
    case dnsResponse
    case bounceMessage
    case providerEvents
    case oauthTokenResponse

    /// Feeds `data` to the target.
    public func run(_ data: Data) {
        switch self {
        case .json: Self.json(data)
        case .template: Self.template(data)
        case .addressList: Self.addressList(data)
        case .smtpReply: Self.smtpReply(data)
        case .cron: Self.cron(data)
        case .formBody: Self.formBody(data)
        case .contentDisposition: Self.contentDisposition(data)
        case .ipLiteral: Self.ipLiteral(data)
        case .dnsResponse: Self.dnsResponse(data)
        case .bounceMessage: Self.bounceMessage(data)
        case .providerEvents: Self.providerEvents(data)
        case .oauthTokenResponse: Self.oauthTokenResponse(data)
        }
    }

    // MARK: - Targets

    /// A token endpoint's answer (the first byte picks the status: 200, 400 or 401) is read or
    /// refused; tokens read are visible ASCII (they go into an AUTH line), the lifetime bounded.
    /// The same bytes as a userinfo answer give an address without line breaks or nothing.
    static func oauthTokenResponse(_ data: Data) {
        let bytes = [UInt8](data)
        if let email = OAuthTokenResponse.email(fromUserInfo: Array(bytes.dropFirst())) {
            check(!email.contains("\r") && !email.contains("\n") && email.utf8.count <= 254 && email.contains("@"), "a userinfo address with a line break")
        }
        let status = [200, 400, 401][Int(bytes.first ?? 0) % 3]
        guard case .tokens(let tokens)? = try? OAuthTokenResponse.parse(status: status, body: Array(bytes.dropFirst())) else { return }
        let visible = { (text: String) in text.utf8.allSatisfy { (0x21...0x7E).contains($0) } }
        check(visible(tokens.accessToken.revealedValue), "an access token with a character outside visible ASCII")
        check(tokens.refreshToken.map { visible($0.revealedValue) } ?? true, "a refresh token with a character outside visible ASCII")
        check(tokens.expiresIn >= .seconds(1) && tokens.expiresIn <= .seconds(86_400), "a lifetime out of bounds")
        check(tokens.email.map { !$0.contains("\r") && !$0.contains("\n") && $0.utf8.count <= 254 } ?? true, "an address with a line break")
    }

    /// A parsed document prints as compact JSON that parses back to the same value, within the
    /// depth limit.
    static func json(_ data: Data) {
        guard let value = try? JSONValue(parsing: data) else { return }
        let (_, depth) = value.footprint
        check(depth <= RunLimits.maximumDepth, "parsed a value \(depth) deep")
        let reparsed = try? JSONValue(parsing: value.compactJSON)
        check(reparsed == value, "compact JSON does not parse back to the same value")
    }

    /// A template parses or fails with an error; parsed, it renders in a scope whatever the
    /// references hold, within the value bound.
    static func template(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        guard let template = try? Template(parsing: text) else { return }
        let scope = TemplateScope(
            triggerBody: ["name": "Ada", "items": [["email": "a@example.com"]], "n": 3, "nested": ["a": ["b": true]]],
            triggerHeaders: ["x-github-event": "push"], triggerQuery: ["page": "2"],
            stepOutputs: ["fetch": ["body": .bytes([1, 2, 3]), "status": 200]], runID: "run_fuzz",
            now: Date(timeIntervalSince1970: 1_800_000_000))
        if let rendered = try? template.render(in: scope) {
            check(rendered.utf8.count <= RunLimits.maximumValueBytes, "rendered past the value bound")
        }
        _ = try? ParameterTemplate(parsing: .object(["p": .string(text)])).render(in: scope)
    }

    /// A value without any of the list's structure scalars never parses to more than one
    /// mailbox — the invariant that keeps an inserted value from adding recipients — and every
    /// parsed address carries no deceptive character.
    static func addressList(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        guard let mailboxes = try? MailboxAddress.parseList(text, field: "to") else { return }
        if !text.unicodeScalars.contains(where: AddressListSyntax.structuralScalars.contains) {
            check(mailboxes.count <= 1, "\(mailboxes.count) mailboxes from text without a separator")
        }
        for mailbox in mailboxes {
            check(mailbox.addressSpec.utf8.count <= 254, "an address longer than 254 octets")
            check(mailbox.addressSpec.unicodeScalars.filter { $0 == "@" }.count == 1, "not exactly one @")
            let again = try? MailboxAddress.parseList(mailbox.addressSpec, field: "to")
            check(again?.map(\.addressSpec) == [mailbox.addressSpec], "an address does not parse back to itself")
        }
    }

    /// The reply decoder gives the same replies whatever the split of its input into reads, and
    /// the throttling reading of each (the rate gate's) takes any reply.
    static func smtpReply(_ data: Data) {
        let bytes = [UInt8](data)
        let whole = decodeReplies(bytes, splits: [])
        let splits = bytes.isEmpty ? [] : stride(from: Int(bytes[0] % 7) + 1, to: bytes.count, by: Int(bytes[0] % 5) + 1).map { $0 }
        check(decodeReplies(bytes, splits: splits) == whole, "replies depend on how the bytes were split")
    }

    /// A schedule that parses has due times that strictly increase.
    static func cron(_ data: Data) {
        let text = String(decoding: data.prefix(256), as: UTF8.self)
        guard let zone = TimeZone(identifier: "Europe/Berlin"), let schedule = try? CronSchedule(parsing: text, timeZone: zone)
        else { return }
        var after = Date(timeIntervalSince1970: 1_800_000_000)
        for _ in 0..<4 {
            guard let next = schedule.nextFire(after: after) else { return }
            check(next > after, "a due time that does not come after the last")
            after = next
        }
    }

    /// A form body becomes an object of strings and arrays of strings.
    static func formBody(_ data: Data) {
        guard case .object(let fields)? = try? JSONValue(parsingForm: data) else { return }
        for value in fields.values {
            switch value {
            case .string: continue
            case .array(let items): check(items.allSatisfy { if case .string = $0 { true } else { false } }, "a non-string form value")
            default: check(false, "a form value that is neither a string nor a list of strings")
            }
        }
    }

    /// A file name from a server's header never carries a path, a control, bidi or invisible
    /// character, or more than 255 bytes.
    static func contentDisposition(_ data: Data) {
        let header = String(decoding: data, as: UTF8.self)
        guard let name = ContentDisposition.filename(fromHeader: header) else { return }
        check(!name.isEmpty && name != "." && name != "..", "an empty or dot name")
        check(!name.contains("/") && !name.contains("\\"), "a path in a file name")
        check(name.utf8.count <= FilenameSanitizer.maximumUTF8Length, "a file name over 255 bytes")
        check(!name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "a control character in a file name")
    }

    /// An IP literal that parses prints in a form that parses back to the same address.
    static func ipLiteral(_ data: Data) {
        let text = String(decoding: data.prefix(128), as: UTF8.self)
        guard let address = IPAddress(text) else { return }
        check(IPAddress(address.description) == address, "an address does not parse back from its description")
    }

    /// A DNS reply (the UDP or TCP answer "Check DNS" reads) parses the same way every time; its
    /// TXT strings fit in the message, and the TXT records of any name in it, CNAMEs followed,
    /// come back (the chain is bounded).
    static func dnsResponse(_ data: Data) {
        let bytes = [UInt8](data)
        let first = Result { () throws(DNSParseError) in try DNSResponse(parsing: bytes) }
        let second = Result { () throws(DNSParseError) in try DNSResponse(parsing: bytes) }
        check(first == second, "the same bytes parse differently twice")
        guard case .success(let response) = first else { return }
        check(response.answers.count <= DNSResponse.maximumAnswers, "\(response.answers.count) answers")
        check(!response.isTruncated || response.answers.isEmpty, "answers read from a truncated reply")
        var textBytes = 0
        for record in response.answers {
            check(record.name.utf8.count <= 4 * 255, "an owner name longer than 255 escaped bytes")
            guard case .txt(let strings) = record.data else { continue }
            textBytes += strings.reduce(0) { $0 + 1 + $1.count }
        }
        check(textBytes <= bytes.count, "TXT strings of \(textBytes) bytes in a \(bytes.count)-byte message")
        let names = response.answers.prefix(8).map(\.name) + [response.question?.name ?? "example.com"]
        for name in names {
            let records = response.txtRecords(for: name)
            check(records.count <= response.answers.count, "more TXT records than answers")
            // Lossy UTF-8 decoding turns each byte into at most one scalar.
            check(records.allSatisfy { $0.unicodeScalars.count <= bytes.count }, "a TXT record longer than the message")
        }
    }

    // MARK: - Helpers

    private static func decodeReplies(_ bytes: [UInt8], splits: [Int]) -> [String] {
        var decoder = SMTPReplyDecoder()
        var buffer = ByteBuffer()
        var replies: [String] = []
        var start = 0
        for end in splits + [bytes.count] where end > start {
            buffer.writeBytes(bytes[start..<end])
            start = end
            do {
                while let reply = try decoder.decode(buffer: &buffer) {
                    // The rate gate reads each reply for throttling: it must take any reply too.
                    replies.append("\(reply.code) \(reply.lines) throttling=\(reply.isThrottling)")
                }
            } catch {
                replies.append("error \(error)")
                return replies
            }
        }
        return replies
    }

    /// A bounce message reads the same way twice, to at most 100 recipients, each a plain address
    /// with a well-formed status (or none) and a bounded diagnostic.
    static func bounceMessage(_ data: Data) {
        let bytes = [UInt8](data)
        let first = Result { () throws(BounceParseError) in try BounceParser.parse(bytes) }
        let second = Result { () throws(BounceParseError) in try BounceParser.parse(bytes) }
        check(first == second, "the same bounce reads differently twice")
        guard case .success(let report) = first else { return }
        check(!report.recipients.isEmpty && report.recipients.count <= BounceParser.maximumRecipients, "\(report.recipients.count) recipients")
        for recipient in report.recipients {
            check(recipient.address.contains("@") && !recipient.address.unicodeScalars.contains { $0.value <= 0x20 },
                  "recipient \(recipient.address.debugDescription)")
            check(recipient.status.map { BounceParser.enhancedCode($0) == $0 } ?? true, "status \(String(describing: recipient.status))")
            check((recipient.diagnostic?.count ?? 0) <= 1_001, "a diagnostic of \(recipient.diagnostic?.count ?? 0) characters")
        }
        check(report.messageID.map { $0.hasPrefix("<") && $0.hasSuffix(">") } ?? true, "message id \(String(describing: report.messageID))")
    }

    /// The first byte picks the reader (SendGrid's events, Mailgun's, Postmark's, an SES
    /// notification, an SNS envelope); the rest is the body. Whatever it yields is bounded and
    /// well formed: a Message-ID `<…@…>`, a recipient address, an enhanced status code or none, a
    /// diagnostic of at most 1,000 characters.
    static func providerEvents(_ data: Data) {
        guard let selector = data.first else { return }
        let body = [UInt8](data.dropFirst())
        var events: [DeliveryEvent] = []
        switch selector % 5 {
        case 0: events = (try? SendGridEvents.events(body)) ?? []
        case 1:
            if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
                events = (try? MailgunEvents.events(object)) ?? []
            }
        case 2:
            if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
                events = PostmarkEvents.events(object, record: ["Bounce", "SpamComplaint", "Delivery"][Int(selector / 5) % 3])
            }
        case 3: events = (try? SESNotification.events(body)) ?? []
        default:
            if let message = try? SNSMessage.parse(body) {
                check(message.canonicalString.hasSuffix("Type\n\(message.kind.rawValue)\n"), "canonical string of \(message.kind)")
            }
        }
        check(events.count <= 1_000, "\(events.count) events")
        for event in events {
            check(event.messageID.hasPrefix("<") && event.messageID.hasSuffix(">") && event.messageID.contains("@"), "message id \(event.messageID.debugDescription)")
            check(event.recipient.contains("@") && event.recipient.utf8.count <= 320 && !event.recipient.unicodeScalars.contains { $0.value <= 0x20 },
                  "recipient \(event.recipient.debugDescription)")
            check(event.code.map { BounceParser.enhancedCode($0) == $0 } ?? true, "code \(String(describing: event.code))")
            check((event.diagnostic?.count ?? 0) <= 1_000, "a diagnostic of \(event.diagnostic?.count ?? 0) characters")
        }
    }

    private static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { preconditionFailure("fuzz invariant broken: \(message())") }
    }
}
