import Foundation
import Testing
import TestSupport
@testable import MIME

@Suite("Encoders")
struct EncodingTests {
    static func encodeAll(_ encoder: some StreamingEncoder, _ input: [UInt8], pieces: Int, terminate: Bool) -> [UInt8] {
        var encoder = encoder
        var output: [UInt8] = []
        let size = max(1, input.count / pieces)
        var start = 0
        while start < input.count {
            let end = min(start + size, input.count)
            encoder.encode(input[start..<end], into: &output)
            start = end
        }
        encoder.finish(terminate: terminate, into: &output)
        return output
    }

    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = 0
        for index in bytes.indices where index > 0 && bytes[index - 1] == 0x0D && bytes[index] == 0x0A {
            result.append(bytes[start..<(index - 1)])
            start = index + 1
        }
        result.append(bytes[start...])
        return result
    }

    static let samples: [[UInt8]] = {
        var random = SystemRandomNumberGenerator()
        return [
            [], [0], [0, 1], [0, 1, 2], Array(0...255),
            (0..<57).map { _ in random.next() }, (0..<58).map { _ in random.next() },
            (0..<100_003).map { _ in random.next() },
        ]
    }()

    @Test("base64 in any chunking equals Foundation's, with 76-character lines", arguments: [1, 2, 7, 1000])
    func base64(_ pieces: Int) {
        for sample in Self.samples {
            let encoded = Self.encodeAll(Base64LineEncoder(), sample, pieces: pieces, terminate: false)
            let expected = Data(sample).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
            #expect(String(decoding: encoded, as: UTF8.self) == expected)
            #expect(Self.lines(encoded).allSatisfy { $0.count <= 76 })
        }
    }

    static let texts: [String] = [
        "", "Hello", "Hello\r\n", "trailing space \r\nand tab\t\r\nend ", "a=b and =?x?=",
        String(repeating: "x", count: 300), String(repeating: "ü", count: 200),
        String(repeating: "word ", count: 100), "line\r\n.\r\n..dots\r\nFrom here\r\n",
        String(repeating: "=", count: 80) + "\r\n", "日本語のテキスト😀👩‍👩‍👧", "\u{0}\u{1}\u{7f}\r\n",
        String(repeating: "a", count: 75) + " " + "\r\n" + String(repeating: "b", count: 74) + "é",
    ]

    @Test("quoted-printable decodes back exactly, lines ≤ 76, no trailing blanks", arguments: texts, [1, 3, 1000])
    func quotedPrintable(_ text: String, _ pieces: Int) throws {
        let input = MessageComposer.normalizedLineEndings(text)
        for terminate in [false, true] {
            let encoded = Self.encodeAll(QuotedPrintableEncoder(), input, pieces: pieces, terminate: terminate)
            #expect(MIMEDecoding.quotedPrintable(encoded) == input)
            for line in Self.lines(encoded) {
                #expect(line.count <= 76)
                #expect(line.last != 0x20 && line.last != 0x09)
                #expect(line.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 })
            }
            if terminate { #expect(encoded.isEmpty || encoded.suffix(2) == [0x0D, 0x0A]) }
        }
    }

    @Test("transfer encoding follows the content", arguments: [
        ("", TransferEncoding.sevenBit), ("Hello\r\n", .sevenBit), ("Hello", .quotedPrintable),
        ("trailing \r\n", .quotedPrintable), (String(repeating: "x", count: 77) + "\r\n", .quotedPrintable),
        ("Grüße aus Köln, bis später\r\n", .quotedPrintable), ("Привет, как дела? Всё хорошо.\r\n", .base64),
        ("日本語のテキストです\r\n", .base64), ("a=_b\r\n", .quotedPrintable),
    ])
    func choice(_ text: String, _ expected: TransferEncoding) {
        #expect(TransferEncoding.choose(forText: Array(text.utf8)) == expected)
    }

    /// The rules of `choose(forText:)` one byte at a time, with no fast path: the reference the
    /// eight-bytes-at-a-time scan must agree with.
    static func referenceChoice(_ text: [UInt8]) -> TransferEncoding {
        var escaped = 0
        var sevenBit = text.isEmpty || text.last == 0x0A
        var lineLength = 0
        var previous: UInt8 = 0
        for byte in text {
            switch byte {
            case 0x0D: if previous == 0x20 || previous == 0x09 { sevenBit = false }
            case 0x0A:
                if lineLength > 76 { sevenBit = false }
                lineLength = 0
            case 0x5F:
                lineLength += 1
                if previous == 0x3D { sevenBit = false }
            case 0x3D:
                lineLength += 1
                escaped += 1
            case 0x20, 0x09, 0x21...0x7E: lineLength += 1
            default:
                sevenBit = false
                escaped += 1
            }
            previous = byte
        }
        if lineLength > 76 || previous == 0x20 || previous == 0x09 { sevenBit = false }
        if sevenBit { return .sevenBit }
        return escaped * 3 <= text.count ? .quotedPrintable : .base64
    }

    @Test("the fast encoding scan agrees with the byte-by-byte rules on random text")
    func choiceMatchesReference() {
        var random = SystemRandomNumberGenerator()
        let specials: [UInt8] = [0x0D, 0x0A, 0x20, 0x09, 0x3D, 0x5F, 0x7F, 0x00, 0x1F, 0x80, 0xC3, 0xFF, 0x21, 0x7E]
        for _ in 0..<3000 {
            let length = Int.random(in: 0...300, using: &random)
            let specialRate = [0.0, 0.01, 0.05, 0.3].randomElement(using: &random)!
            let text: [UInt8] = (0..<length).map { _ in
                Double.random(in: 0..<1, using: &random) < specialRate
                    ? specials.randomElement(using: &random)! : UInt8.random(in: 0x21...0x7E, using: &random)
            }
            #expect(TransferEncoding.choose(forText: text) == Self.referenceChoice(text), "\(text)")
        }
    }

    @Test("an eight-byte word is plain exactly when each of its bytes is")
    func plainWords() {
        func plain(_ byte: UInt8) -> Bool { byte == 0x20 || ((0x21...0x7E).contains(byte) && byte != 0x3D && byte != 0x5F) }
        for byte in 0...255 {
            for position in 0..<8 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[position] = UInt8(byte)
                let word = bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                #expect(TransferEncoding.isPlain(word) == plain(UInt8(byte)), "byte \(byte) at \(position)")
            }
        }
    }

    @Test("line endings become CRLF", arguments: [
        ("a\nb", "a\r\nb"), ("a\rb", "a\r\nb"), ("a\r\nb", "a\r\nb"), ("a\n\r\n\rb\r", "a\r\n\r\n\r\nb\r\n"), ("\n\n", "\r\n\r\n"),
    ])
    func lineEndings(_ input: String, _ expected: String) {
        #expect(MessageComposer.normalizedLineEndings(input) == Array(expected.utf8))
    }
}

@Suite("Header encoding")
struct HeaderEncodingTests {
    static let subjects: [String] = [
        "Hello", "Hello world, this is a subject that is long enough to need folding across more than one line of the header",
        "Grüße aus Köln", "日本語の件名です。とても長い件名なので、複数のエンコードされた単語に分割されるはずです。", " leading", "trailing ",
        "double  space", "=?utf-8?q?looks_encoded?=", "emoji 👩‍👩‍👧‍👦 family and 🇺🇸 flag", "tab\there",
        String(repeating: "€", count: 998), String(repeating: "a", count: 998),
        String(repeating: "word ", count: 199) + "end", "ع" + String(repeating: "\u{0301}", count: 60),
    ]

    @Test("subjects decode back exactly, lines within limits", arguments: subjects)
    func subject(_ subject: String) throws {
        let rendered = HeaderField.unstructured(name: "Subject", value: subject).render()
        #expect(rendered.hasSuffix("\r\n"))
        let lines = String(rendered.utf8.dropLast(2))!.components(separatedBy: "\r\n")
        for (index, line) in lines.enumerated() {
            #expect(line.utf8.count <= 998)
            if index > 0 { #expect(line.hasPrefix(" ")) }
            // Only a single unbreakable ASCII word may push a line past 78.
            if line.utf8.count > 78 { #expect(!line.contains("=?") && line.split(separator: " ").count <= 2) }
        }
        for word in rendered.split(whereSeparator: { $0 == " " || $0 == "\r\n" }) where word.hasPrefix("=?") {
            #expect(word.utf8.count <= 75)
        }
        let value = String(rendered.utf8.dropFirst("Subject: ".utf8.count).dropLast(2))!
        #expect(MIMEDecoding.headerValue(value) == subject)
    }

    @Test("encoded-words never split a UTF-8 sequence")
    func wordsHoldWholeCharacters() {
        let rendered = HeaderField.unstructured(name: "Subject", value: String(repeating: "日本😀", count: 60)).render()
        for word in rendered.split(whereSeparator: { $0 == " " || $0 == "\r\n" }).dropFirst() {
            #expect(MIMEDecoding.headerValue(String(word)) != nil, "\(word) is not whole UTF-8")
        }
    }

    @Test("display names are atoms, quoted strings or encoded-words", arguments: [
        ("Jane Doe", "Jane Doe <a@example.com>"),
        ("Doe, Jane", "\"Doe, Jane\" <a@example.com>"),
        ("John Q. Public", "\"John Q. Public\" <a@example.com>"),
        ("Say \"hi\"", "\"Say \\\"hi\\\"\" <a@example.com>"),
        ("José", "=?utf-8?B?Sm9zw6k=?= <a@example.com>"),
        // Regression: an atom-only name that looks like an encoded-word was sent raw and decoded by readers.
        ("=?utf-8?q?Boss?=", "=?utf-8?B?PT91dGYtOD9xP0Jvc3M/PQ==?= <a@example.com>"),
        ("José Müller-Lüdenscheid", "=?utf-8?Q?Jos=C3=A9_M=C3=BCller-L=C3=BCdenscheid?= <a@example.com>"),
    ])
    func displayNames(_ name: String, _ expected: String) {
        let mailbox = MailboxAddress(displayName: name, localPart: "a", domain: "example.com")
        #expect(HeaderField.addresses(name: "To", [mailbox]).render() == "To: \(expected)\r\n")
    }

    @Test("address lists fold between mailboxes")
    func addressFolding() {
        let mailboxes = (1...8).map { MailboxAddress(displayName: "Recipient \($0)", localPart: "r\($0)", domain: "example.com") }
        let rendered = HeaderField.addresses(name: "To", mailboxes).render()
        #expect(rendered.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        #expect(rendered.replacingOccurrences(of: "\r\n", with: "") ==
            "To: " + mailboxes.map { "Recipient \($0.localPart.dropFirst()) <\($0.addressSpec)>" }.joined(separator: ", "))
    }

    @Test("file names use RFC 2231 when not short ASCII")
    func filenameParameters() {
        var short = HeaderField(name: "Content-Disposition", value: "attachment")
        short.appendParameter("filename", "report \"final\".pdf")
        #expect(short.render() == "Content-Disposition: attachment; filename=\"report \\\"final\\\".pdf\"\r\n")

        var unicode = HeaderField(name: "Content-Disposition", value: "attachment")
        unicode.appendParameter("filename", "€ rates.pdf")
        #expect(unicode.render() == "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rates.pdf\r\n")

        // Regression: a quoted name containing "=?" was decoded as an encoded-word by readers.
        var lookalike = HeaderField(name: "Content-Disposition", value: "attachment")
        lookalike.appendParameter("filename", "=?utf-8?q?fake?=.txt")
        #expect(lookalike.render().replacingOccurrences(of: "\r\n ", with: " ") == "Content-Disposition: attachment; filename*=utf-8''%3D%3Futf-8%3Fq%3Ffake%3F%3D.txt\r\n")

        var long = HeaderField(name: "Content-Disposition", value: "attachment")
        long.appendParameter("filename", String(repeating: "Ä", count: 40) + ".pdf")
        let rendered = long.render()
        #expect(rendered.contains("filename*0*=utf-8''%C3%84"))
        #expect(rendered.contains("filename*1*=%C3%84"))
        #expect(rendered.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
    }
}
