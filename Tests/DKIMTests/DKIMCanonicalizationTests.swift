@testable import DKIM
import Foundation
import MIME
import Testing

@Suite("DKIM: relaxed canonicalization and signing")
struct DKIMCanonicalizationTests {
    static func body(_ text: String, splits: [Int] = []) -> String {
        var canonicalizer = RelaxedCanonicalization.Body()
        var output: [UInt8] = []
        let bytes = Array(text.utf8)
        var start = 0
        for end in splits + [bytes.count] where end >= start && end <= bytes.count {
            canonicalizer.feed(bytes[start..<end]) { output += $0 }
            start = end
        }
        canonicalizer.finish { output += $0 }
        return String(decoding: output, as: UTF8.self)
    }

    @Test("RFC 6376 §3.4.5's example, header and body")
    func rfcExample() {
        #expect(String(decoding: RelaxedCanonicalization.header(name: "A", value: " X"), as: UTF8.self) == "a:X\r\n")
        #expect(String(decoding: RelaxedCanonicalization.header(name: "B ", value: " Y\t\r\n\tZ  "), as: UTF8.self) == "b:Y Z\r\n")
        #expect(Self.body(" C \r\nD \t E\r\n\r\n\r\n") == " C\r\nD E\r\n")
    }

    @Test("bodies: empty, whitespace only, no final CRLF, blank lines inside kept, a bare CR is text", arguments: [
        ("", ""),
        ("\r\n\r\n", ""),
        ("  \t\r\n \r\n", ""),
        ("end", "end\r\n"),
        ("a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n"),
        ("a\rb\r\n", "a\rb\r\n"),
        ("  lead\r\n", " lead\r\n"),
    ])
    func bodies(input: String, expected: String) {
        #expect(Self.body(input) == expected)
    }

    /// RFC 6376 §3.4.4 written the plain way, a line at a time, to check the streaming one.
    static func reference(_ text: String) -> String {
        var lines = text.components(separatedBy: "\r\n")
        if lines.last == "" { lines.removeLast() }
        lines = lines.map { line in
            var out = ""
            var inSpace = false
            for character in line.unicodeScalars {
                if character == " " || character == "\t" {
                    inSpace = true
                } else {
                    if inSpace { out += " " }
                    inSpace = false
                    out.unicodeScalars.append(character)
                }
            }
            return out
        }
        while lines.last == "" { lines.removeLast() }
        return lines.isEmpty ? "" : lines.joined(separator: "\r\n") + "\r\n"
    }

    @Test("the streaming canonicalization equals the plain one, whole and split anywhere")
    func againstReference() {
        var random = SystemRandomNumberGenerator()
        let pieces = ["a", "b", " ", "  ", "\t", "\r\n", "\r", "\n", "\r\n\r\n", " \r\n", "x y", "QUJD"]
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...30, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            let count = text.utf8.count
            let splits = (0..<Int.random(in: 0...8, using: &random)).map { _ in Int.random(in: 0...max(count, 0), using: &random) }.sorted()
            let expected = Self.reference(text)
            #expect(Self.body(text) == expected, "\(text.debugDescription)")
            #expect(Self.body(text, splits: splits) == expected, "\(text.debugDescription) split at \(splits)")
        }
    }

    @Test("a body split anywhere canonicalizes as it does whole")
    func splits() {
        var random = SystemRandomNumberGenerator()
        let pieces = ["a", " ", "\t", "\r\n", "\r", "\n", ".", "b  c", "\r\n\r\n"]
        for _ in 0..<300 {
            let text = (0..<Int.random(in: 0...40, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            let count = text.utf8.count
            let splits = (0..<Int.random(in: 0...6, using: &random)).map { _ in Int.random(in: 0...max(count, 0), using: &random) }.sorted()
            #expect(Self.body(text, splits: splits) == Self.body(text), "\(text.debugDescription) split at \(splits)")
        }
    }

    @Test("a body that cannot be read while it is hashed fails the signing, without hanging (the renderer runs on its own thread)")
    func unreadableBody() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("posthorn-dkim-\(UUID().uuidString).bin").path
        try Data(repeating: 0x41, count: 300_000).write(to: URL(fileURLWithPath: path))
        var request = EmailRequest(from: "Team <team@example.com>", to: "ada@example.net", subject: "Hello", body: "Hi")
        request.attachments = [EmailAttachment(filename: "big.bin", content: .file(path: path))]
        let message = MessageComposer().compose(try request.validated())
        let signer = DKIMSigner([.init(domain: "example.com", selector: "ed", key: try DKIMKey.generate(.ed25519SHA256))])
        // Readable: it signs, and the body hash covers the whole attachment.
        _ = try signer.sign(message, at: Date())
        try FileManager.default.removeItem(atPath: path)
        #expect(throws: (any Error).self) { try signer.sign(message, at: Date()) }
    }

    @Test("a signed message starts with one DKIM-Signature per key, over the From signed once more than it occurs")
    func signing() throws {
        let request = EmailRequest(from: "Team <team@example.com>", to: "ada@example.net", subject: "Hello", body: "Hi")
        let message = MessageComposer().compose(try request.validated())
        let signer = DKIMSigner([
            .init(domain: "example.com", selector: "rsa", key: try DKIMKey.generate(.rsaSHA256)),
            .init(domain: "example.com", selector: "ed", key: try DKIMKey.generate(.ed25519SHA256)),
        ])
        let signed = String(decoding: try signer.sign(message, at: Date(timeIntervalSince1970: 1_800_000_000)).bytes(), as: UTF8.self)
        let original = String(decoding: try message.bytes(), as: UTF8.self)
        #expect(signed.hasSuffix(original), "the message itself is unchanged")
        let fields = DKIMSigner.fields(of: String(signed.prefix(signed.count - original.count)))
        #expect(fields.map(\.name) == ["DKIM-Signature", "DKIM-Signature"])
        #expect(fields[0].value.contains("a=rsa-sha256") && fields[1].value.contains("a=ed25519-sha256"))
        #expect(fields[0].value.contains("h=from:from:to:subject:date:message-id:mime-version:content-type"))
        #expect(fields[0].value.contains("t=1800000000;"))
        #expect(signed.split(separator: "\r\n").allSatisfy { $0.utf8.count <= 998 })
    }

    @Test("selectors and domains are DNS labels; nothing that could end a tag gets in", arguments: [
        ("s1", true), ("2026-12.mail", true), ("a;b", false), ("a b", false), ("", false), ("-a", false), ("é", false),
    ])
    func selectors(selector: String, valid: Bool) {
        #expect(DKIMSigner.isValidSelector(selector) == valid)
    }
}
