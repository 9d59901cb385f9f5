import Foundation
import Testing
import TestSupport
@testable import MIME

/// Whole messages compared byte for byte with reviewed fixtures in `Fixtures/`. Dates, tokens and
/// boundaries come from ``MessageIdentity/deterministic(now:)``. To re-record after an intended
/// change: `POSTHORN_RECORD_GOLDENS=1 swift test --filter GoldenMessageTests`, then read the diff.
@Suite("Golden messages")
struct GoldenMessageTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var request: EmailRequest
        var testDescription: String { name }
    }

    static let pixel: [UInt8] = Array(Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")!)

    static let cases: [Case] = [
        Case(name: "plain-text", request: EmailRequest(
            from: "alerts@example.com", to: "ops@example.com", subject: "Disk usage above 90%",
            body: "Host db-1 is at 93% disk usage.\n\nCheck /var/lib/postgres.\n")),
        Case(name: "alternative-unicode", request: EmailRequest(
            from: "José Müller <jose@bücher.example>", to: "\"Doe, Jane\" <jane@example.com>, 山田太郎 <taro@example.jp>",
            cc: "Team <team@example.com>", bcc: "audit@example.com", replyTo: "support@example.com",
            subject: "Grüße aus Köln — 日本語の件名 😀", bodyFormat: .html,
            body: "Hallo Jane,\nschöne Grüße!\n", htmlBody: "<p>Hallo Jane,<br>sch&ouml;ne Gr&uuml;&szlig;e!</p>\n",
            priority: .high, headers: [CustomHeader(name: "X-Campaign", value: "welcome-2026"),
                                       CustomHeader(name: "X-Note", value: "café ☕")])),
        Case(name: "mixed-related", request: EmailRequest(
            from: "Reports <reports@example.com>", to: "cfo@example.com", subject: "Monthly report",
            bodyFormat: .html, body: "See the attached report.\n",
            htmlBody: "<p>See the attached report.</p><img src=\"cid:logo@example.com\">\n", priority: .low,
            attachments: [
                EmailAttachment(filename: "report.csv", content: .bytes(Array("month,total\r\nnov,42\r\n".utf8))),
                EmailAttachment(filename: "Übersicht März 2026 — Finanzen und Planung für das nächste Quartal.pdf",
                           content: .bytes(Array(0...255))),
                EmailAttachment(filename: "logo.png", content: .bytes(pixel), contentID: "logo@example.com"),
            ])),
        Case(name: "bcc-only-long-subject", request: EmailRequest(
            from: "noreply@example.com", bcc: "a@example.com, b@example.com",
            subject: "A fairly long subject line that goes on and on so that the header has to be folded at a space somewhere",
            body: "Line one\r\n.\r\n..starts with dots\r\nFrom the start\r\nlast line without newline",
            messageID: "fixed-id@example.com", date: Date(timeIntervalSince1970: 0))),
    ]

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    @Test("renders exactly the fixture", arguments: cases)
    func golden(_ example: Case) throws {
        let message = MessageComposer(identity: .deterministic()).compose(try example.request.validated())
        let bytes = try message.bytes()
        let url = Self.fixtures.appendingPathComponent("\(example.name).eml")
        if ProcessInfo.processInfo.environment["POSTHORN_RECORD_GOLDENS"] == "1" {
            try Data(bytes).write(to: url)
        }
        let expected = try [UInt8](Data(contentsOf: url))
        #expect(bytes == expected, "\(example.name) differs from its fixture:\n\(String(decoding: bytes, as: UTF8.self))")
    }

    @Test("every message is CRLF-only, ends in CRLF, lines ≤ 998 and headers ≤ 78", arguments: cases)
    func lineDiscipline(_ example: Case) throws {
        let bytes = try MessageComposer(identity: .deterministic()).compose(try example.request.validated()).bytes()
        #expect(bytes.suffix(2) == [0x0D, 0x0A])
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0A { #expect(index > 0 && bytes[index - 1] == 0x0D) }
            if byte == 0x0D { #expect(index + 1 < bytes.count && bytes[index + 1] == 0x0A) }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 998 })
        let header = text.components(separatedBy: "\r\n\r\n")[0]
        #expect(header.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        #expect(!header.lowercased().contains("bcc"))
    }
}
