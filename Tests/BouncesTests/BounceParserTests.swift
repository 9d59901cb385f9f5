@testable import Bounces
import Foundation
import Testing

@Suite("Bounces: RFC 3464 reports and the common text notices")
struct BounceParserTests {
    static func corpus(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "eml", subdirectory: "Corpus"))
        return Array(try Data(contentsOf: url))
    }

    struct Expected: Sendable, CustomTestStringConvertible {
        var file: String
        var format: BounceReport.Format
        var messageID: String?
        var envelopeID: String? = nil
        /// address, action, status
        var recipients: [(String, BounceRecipient.Action, String?)]
        var diagnostic: String? = nil

        var testDescription: String { file }
    }

    static let reports: [Expected] = [
        Expected(file: "postfix-user-unknown", format: .deliveryStatus, messageID: "<run_01.send@posthorn.example>", envelopeID: "run_01.send",
                 recipients: [("grace@example.net", .failed, "5.1.1")],
                 diagnostic: "550 5.1.1 <grace@example.net>: Recipient address rejected: User unknown"),
        Expected(file: "exchange-recipient-not-found", format: .deliveryStatus, messageID: "<run_02.send@posthorn.example>",
                 recipients: [("jo@contoso.example", .failed, "5.1.10")]),
        Expected(file: "gmail-no-such-account", format: .deliveryStatus, messageID: "<run_03.send@posthorn.example>",
                 recipients: [("nobody@gmail.example", .failed, "5.1.1")],
                 diagnostic: "550-5.1.1 The email account that you tried to reach does not exist."),
        Expected(file: "delayed", format: .deliveryStatus, messageID: "<run_04.send@posthorn.example>", envelopeID: "run_04.send",
                 recipients: [("slow@example.org", .delayed, "4.4.7")]),
        Expected(file: "policy-block", format: .deliveryStatus, messageID: nil,
                 recipients: [("cfo@bank.example", .failed, "5.7.1")]),
        Expected(file: "two-recipients", format: .deliveryStatus, messageID: "<run_06.send@posthorn.example>",
                 recipients: [("full@example.com", .failed, "5.2.2"), ("fine@example.com", .delivered, "2.0.0")]),
        Expected(file: "base64-status-crlf", format: .deliveryStatus, messageID: nil, envelopeID: "run_07.send",
                 recipients: [("gone@example.io", .failed, "5.1.2")], diagnostic: "550 5.1.2 Host unknown"),
        Expected(file: "malformed-truncated", format: .deliveryStatus, messageID: nil,
                 recipients: [("cut@example.net", .failed, "5.1.1")], diagnostic: "550 5.1.1 User unkn"),
        Expected(file: "gmail-legacy-text", format: .text, messageID: "<run_08.send@posthorn.example>",
                 recipients: [("nobody@example.org", .failed, "5.1.1")]),
        Expected(file: "qmail-text", format: .text, messageID: "<run_09.send@posthorn.example>",
                 recipients: [("lost@example.org", .failed, "5.0.0")], diagnostic: "Remote host said: 550 no such user here"),
        Expected(file: "arf-complaint", format: .feedbackReport, messageID: "<run_10.send@posthorn.example>",
                 recipients: [("reader@isp.example", .complained, nil)], diagnostic: "Feedback-Type: abuse"),
        Expected(file: "exchange-text-notice", format: .text, messageID: nil,
                 recipients: [("jane@fabrikam.example", .failed, "5.4.1")],
                 diagnostic: "Remote Server returned '550 5.4.1 Recipient address rejected: Access denied'"),
    ]

    @Test("each bounce of the corpus reads to its recipients, actions, statuses and the message it is about", arguments: reports)
    func corpusReports(_ expected: Expected) throws {
        let report = try BounceParser.parse(try Self.corpus(expected.file))
        #expect(report.format == expected.format)
        #expect(report.messageID == expected.messageID)
        #expect(report.envelopeID == expected.envelopeID)
        #expect(report.recipients.map(\.address) == expected.recipients.map(\.0))
        #expect(report.recipients.map(\.action) == expected.recipients.map(\.1))
        #expect(report.recipients.map(\.status) == expected.recipients.map(\.2))
        if let diagnostic = expected.diagnostic { #expect(report.recipients.first?.diagnostic == diagnostic) }
    }

    @Test("what is not a bounce, or names nobody, is refused as such", arguments: [
        "not-a-bounce", "malformed-no-boundary", "malformed-garbage-status",
    ])
    func refused(_ file: String) throws {
        #expect(throws: BounceParseError.self) { try BounceParser.parse(try Self.corpus(file)) }
    }

    @Test("hard bounces are permanent failures; a delay or a 4.x.x is not")
    func hardBounce() {
        #expect(BounceRecipient(address: "a@b.example", action: .failed, status: "5.1.1").isHardBounce)
        #expect(BounceRecipient(address: "a@b.example", action: .failed, status: nil).isHardBounce)
        #expect(!BounceRecipient(address: "a@b.example", action: .failed, status: "4.2.2").isHardBounce)
        #expect(!BounceRecipient(address: "a@b.example", action: .delayed, status: "4.4.7").isHardBounce)
    }

    @Test("every prefix of every corpus message parses or is refused, never traps; nesting and sizes are bounded")
    func hostile() throws {
        for expected in Self.reports {
            let bytes = try Self.corpus(expected.file)
            for length in stride(from: 0, to: bytes.count, by: 7) {
                _ = try? BounceParser.parse(Array(bytes.prefix(length)))
            }
        }
        // 50 levels of multipart: read no deeper than the bound, without trouble.
        var nested = "From: MAILER-DAEMON@x.example\nSubject: Undelivered\n"
        for level in 0..<50 { nested += "Content-Type: multipart/mixed; boundary=\"b\(level)\"\n\n--b\(level)\n" }
        nested += "Content-Type: text/plain\n\n550 5.1.1 <deep@example.org> unknown\n"
        #expect((try? BounceParser.parse(Array(nested.utf8))) == nil)
        #expect(throws: BounceParseError.tooLarge(bytes: BounceParser.maximumSize + 1)) {
            try BounceParser.parse([UInt8](repeating: 0x41, count: BounceParser.maximumSize + 1))
        }
    }
}
