import Foundation
import Testing
import TestSupport
@testable import MIME

@Suite("Streaming renderer")
struct StreamingTests {
    static func temporaryFile(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("posthorn-\(UUID().uuidString).bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("a file attachment renders the same bytes as the same content in memory, in bounded chunks")
    func fileEqualsMemory() throws {
        var random = SystemRandomNumberGenerator()
        let content = (0..<300_001).map { _ in UInt8.random(in: 0...255, using: &random) }
        let path = try Self.temporaryFile(content)
        defer { try? FileManager.default.removeItem(atPath: path) }
        func render(_ source: EmailAttachment.Content) throws -> (bytes: [UInt8], largest: Int) {
            let request = EmailRequest(from: "a@example.com", to: "b@example.com", subject: "File", body: "See file.\n",
                                       attachments: [EmailAttachment(filename: "data.bin", content: source)])
            var stream = MessageComposer(identity: .deterministic()).compose(try request.validated()).makeStream(chunkSize: 16 * 1024)
            var output: [UInt8] = []
            var largest = 0
            while let chunk = try stream.next() {
                output += chunk
                largest = max(largest, chunk.count)
            }
            return (output, largest)
        }
        let fromFile = try render(.file(path: path))
        let fromMemory = try render(.bytes(content))
        #expect(fromFile.bytes == fromMemory.bytes)
        #expect(fromFile.largest < 16 * 1024 + 80 * 1024)

        let parsed = ParsedMessage(fromFile.bytes)
        let body = String(decoding: parsed.body, as: UTF8.self)
        let boundary = try #require(parsed.values("Content-Type").first?.split(separator: "\"").dropFirst().first)
        let parts = body.components(separatedBy: "--\(boundary)")
        #expect(parts.count == 4)
        let attachmentBody = try #require(parts[2].components(separatedBy: "\r\n\r\n").last)
        #expect(MIMEDecoding.base64(Array(attachmentBody.utf8)) == content)
    }

    @Test("a stream can be made twice and gives the same bytes")
    func restartable() throws {
        let message = MessageComposer(identity: .deterministic()).compose(
            try EmailRequest(from: "a@example.com", to: "b@example.com", body: String(repeating: "x", count: 200_000)).validated())
        #expect(try message.bytes() == message.bytes())
    }

    @Test("a generated Message-ID uses the From domain in A-label form")
    func generatedMessageID() throws {
        let message = MessageComposer(identity: .deterministic()).compose(
            try EmailRequest(from: "a@bücher.example", to: "b@example.com").validated())
        #expect(message.messageID == "<t1@xn--bcher-kva.example>")
        let parsed = ParsedMessage(try message.bytes())
        #expect(parsed.values("Message-ID") == ["<t1@xn--bcher-kva.example>"])
        #expect(parsed.values("Date") == ["Wed, 25 Nov 2026 10:00:00 +0000"])
        #expect(parsed.values("MIME-Version") == ["1.0"])
    }

    @Test("priority sets three headers; a custom header of the same name replaces the generated one",
          arguments: [(Priority.high, "1 (Highest)", "High"), (.normal, "3 (Normal)", "Normal"), (.low, "5 (Lowest)", "Low")])
    func priority(_ priority: Priority, _ xPriority: String, _ word: String) throws {
        let plain = ParsedMessage(try MessageComposer(identity: .deterministic()).compose(
            try EmailRequest(from: "a@example.com", to: "b@example.com", priority: priority).validated()).bytes())
        #expect(plain.values("X-Priority") == [xPriority])
        #expect(plain.values("X-MSMail-Priority") == [word])
        #expect(plain.values("Importance") == [word])
        let custom = ParsedMessage(try MessageComposer(identity: .deterministic()).compose(
            try EmailRequest(from: "a@example.com", to: "b@example.com", priority: priority,
                             headers: [CustomHeader(name: "importance", value: "urgent")]).validated()).bytes())
        #expect(custom.values("Importance") == ["urgent"])
    }
}
