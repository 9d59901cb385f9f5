import NIOCore
import NIOTestUtils
import Testing
@testable import SMTPCore

@Suite("Reply decoder and dot-stuffing")
struct ReplyDecoderTests {
    @Test("multi-line replies decode identically under every split of the input")
    func verifier() throws {
        let input = "220 mx.example.com ESMTP ready\r\n"
            + "250-mx.example.com Hello\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n250-AUTH LOGIN PLAIN XOAUTH2\r\n250 ENHANCEDSTATUSCODES\r\n"
            + "354 End data with <CR><LF>.<CR><LF>\n"
            + "250\r\n"
        try ByteToMessageDecoderVerifier.verifyDecoder(
            stringInputOutputPairs: [(input, [
                reply(220, "mx.example.com ESMTP ready"),
                SMTPReply(code: 250, lines: ["mx.example.com Hello", "PIPELINING", "SIZE 35882577", "AUTH LOGIN PLAIN XOAUTH2", "ENHANCEDSTATUSCODES"]),
                reply(354, "End data with <CR><LF>.<CR><LF>"),
                reply(250, ""),
            ])],
            decoderFactory: { SMTPReplyDecoder() }
        )
    }

    static func decodeAll(_ text: String) throws -> [SMTPReply] {
        var decoder = SMTPReplyDecoder()
        var buffer = ByteBuffer(string: text)
        var replies: [SMTPReply] = []
        while let reply = try decoder.decode(buffer: &buffer) { replies.append(reply) }
        return replies
    }

    @Test("malformed replies are protocol violations", arguments: [
        ("hello\r\n", SMTPProtocolViolation.malformedReply), ("25 ok\r\n", .malformedReply), ("250_ok\r\n", .malformedReply),
        ("650 ok\r\n", .malformedReply), ("250-a\r\n251 b\r\n", .inconsistentMultilineCode),
        (String(repeating: "x", count: 5000), .lineTooLong), ("250 " + String(repeating: "x", count: 5000) + "\r\n", .lineTooLong),
    ])
    func malformed(_ input: String, _ violation: SMTPProtocolViolation) {
        #expect(throws: violation) { _ = try Self.decodeAll(input) }
    }

    @Test("a reply with too many lines is refused")
    func tooManyLines() {
        #expect(throws: SMTPProtocolViolation.tooManyLines) {
            _ = try Self.decodeAll(String(repeating: "250-x\r\n", count: 600))
        }
    }

    @Test("enhanced status codes are read when their class agrees", arguments: [
        (reply(250, "2.1.5 Ok"), "2.1.5", "Ok"), (reply(550, "5.7.1 Relaying denied"), "5.7.1", "Relaying denied"),
        (reply(550, "2.1.5 odd"), nil, "2.1.5 odd"), (reply(250, "Ok 2.1.5"), nil, "Ok 2.1.5"), (reply(451, "4.3.0"), "4.3.0", ""),
    ] as [(SMTPReply, String?, String)])
    func enhancedCodes(_ reply: SMTPReply, _ code: String?, _ text: String) {
        #expect(reply.enhancedCode?.description == code)
        #expect(reply.text == text)
    }

    @Test("EHLO capabilities", arguments: [0])
    func capabilities(_: Int) {
        let capabilities = SMTPCapabilities(ehloReply: SMTPReply(code: 250, lines: [
            "mx", "pipelining", "SIZE 1000", "AUTH PLAIN LOGIN", "AUTH=CRAM-MD5", "8BITMIME", "SMTPUTF8", "STARTTLS", "DSN", "CHUNKING",
        ]))
        #expect(capabilities.pipelining && capabilities.startTLS && capabilities.eightBitMIME && capabilities.smtpUTF8)
        #expect(capabilities.dsn && capabilities.chunking && !capabilities.enhancedStatusCodes)
        #expect(capabilities.maximumSize == 1000)
        #expect(capabilities.authMechanisms == ["PLAIN", "LOGIN", "CRAM-MD5"])
    }

    static func stuffed(_ chunks: [String]) -> String {
        var stuffer = DotStuffer()
        var buffer = ByteBuffer()
        for chunk in chunks { stuffer.stuff(Array(chunk.utf8), into: &buffer) }
        stuffer.finish(into: &buffer)
        return String(buffer: buffer)
    }

    @Test("dot-stuffing and line endings", arguments: [
        ("", ".\r\n"), ("a\r\n", "a\r\n.\r\n"), ("a", "a\r\n.\r\n"), (".\r\n", "..\r\n.\r\n"), ("..x\r\n", "...x\r\n.\r\n"),
        ("a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n"), ("bare\nlf\n", "bare\r\nlf\r\n.\r\n"), ("bare\rcr", "bare\r\ncr\r\n.\r\n"),
        ("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n"), ("x.y\r\n", "x.y\r\n.\r\n"), (".\n.\r.", "..\r\n..\r\n..\r\n.\r\n"),
    ])
    func stuffing(_ input: String, _ expected: String) {
        #expect(Self.stuffed([input]) == expected)
        // Any split of the input gives the same bytes.
        let bytes = Array(input.utf8)
        for split in 0...bytes.count {
            let chunks = [String(decoding: bytes[..<split], as: UTF8.self), String(decoding: bytes[split...], as: UTF8.self)]
            #expect(Self.stuffed(chunks) == expected)
        }
    }

    @Test("no bare CR or LF ever leaves the stuffer")
    func noBareLineEndings() {
        var random = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x0D, 0x0A, 0x2E, 0x61]
        for _ in 0..<200 {
            let bytes = (0..<64).map { _ in alphabet[Int(random.next() % 4)] }
            var stuffer = DotStuffer()
            var buffer = ByteBuffer()
            stuffer.stuff(bytes, into: &buffer)
            stuffer.finish(into: &buffer)
            let out = Array(buffer.readableBytesView)
            for (index, byte) in out.enumerated() {
                if byte == 0x0D { #expect(index + 1 < out.count && out[index + 1] == 0x0A) }
                if byte == 0x0A { #expect(index > 0 && out[index - 1] == 0x0D) }
            }
            #expect(out.suffix(5) == [0x0D, 0x0A, 0x2E, 0x0D, 0x0A] || out == [0x2E, 0x0D, 0x0A])
        }
    }
}
