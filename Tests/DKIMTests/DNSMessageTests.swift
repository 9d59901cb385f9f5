@testable import DKIM
import Testing

/// Hand assembly of DNS messages for the tests, written field by field from RFC 1035 §4.1.
enum DNSWire {
    static func uint16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func uint32(_ value: UInt32) -> [UInt8] { uint16(UInt16(value >> 16)) + uint16(UInt16(value & 0xFFFF)) }

    /// Labels and the root, uncompressed.
    static func name(_ text: String) -> [UInt8] {
        text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func header(id: UInt16, flags: UInt16, questions: UInt16 = 1, answers: UInt16) -> [UInt8] {
        uint16(id) + uint16(flags) + uint16(questions) + uint16(answers) + uint16(0) + uint16(0)
    }

    static func question(_ name: String, type: UInt16 = 16) -> [UInt8] {
        self.name(name) + uint16(type) + uint16(1)
    }

    static func record(owner: [UInt8], type: UInt16, ttl: UInt32 = 300, data: [UInt8], length: Int? = nil) -> [UInt8] {
        owner + uint16(type) + uint16(1) + uint32(ttl) + uint16(UInt16(length ?? data.count)) + data
    }

    static func txt(_ strings: [String]) -> [UInt8] {
        strings.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
    }

    /// A reply (QR, RD, RA set) to the question for `name`, whose name is at byte 12: point at it
    /// with `[0xC0, 12]`.
    static func response(id: UInt16 = 0x1234, flags: UInt16 = 0x8180, question name: String, answers: [[UInt8]]) -> [UInt8] {
        header(id: id, flags: flags, answers: UInt16(answers.count)) + question(name) + answers.flatMap { $0 }
    }
}

@Suite("DNS: query building and hostile reply parsing")
struct DNSMessageTests {
    static let atQuestion: [UInt8] = [0xC0, 12]

    // MARK: Queries

    @Test("a TXT query is the header, the question and an OPT record, byte for byte")
    func queryBytes() throws {
        let query = try DNSQuery(name: "_dmarc.Example.com", id: 0xBEEF)
        let expected: [UInt8] = [
            0xBE, 0xEF, 0x01, 0x00,  // id, flags: RD only
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // QD 1, AN 0, NS 0, AR 1
            6, 0x5F, 0x64, 0x6D, 0x61, 0x72, 0x63,  // _dmarc
            7, 0x45, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65,  // Example
            3, 0x63, 0x6F, 0x6D, 0,  // com, root
            0x00, 0x10, 0x00, 0x01,  // QTYPE TXT, QCLASS IN
            0x00, 0x00, 0x29, 0x04, 0xD0,  // OPT: root owner, TYPE 41, CLASS = 1232
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // TTL 0 (rcode, version, flags), RDLENGTH 0
        ]
        #expect(query.bytes == expected)
        #expect(query.name == "_dmarc.Example.com")
        #expect(try DNSQuery(name: "_dmarc.Example.com.", id: 0xBEEF) == query)
    }

    @Test("names at the limits are accepted", arguments: [
        String(repeating: "a", count: 63) + ".com",
        ([String](repeating: String(repeating: "b", count: 62), count: 4) + ["c"]).joined(separator: "."),  // 253 bytes
        "s1._domainkey.mail-1.example.org.", "x",
    ])
    func validNames(name: String) throws {
        #expect(throws: Never.self) { try DNSQuery(name: name, id: 1) }
    }

    @Test("names that are not DNS names are refused with the rule they break", arguments: [
        ("", DNSNameError.empty),
        (".", .empty),
        ("a..b", .emptyLabel),
        (".a", .emptyLabel),
        ("a.b..", .emptyLabel),
        (String(repeating: "a", count: 64) + ".com", .labelTooLong(String(repeating: "a", count: 64))),
        (([String](repeating: String(repeating: "b", count: 62), count: 4) + ["cd"]).joined(separator: "."), .nameTooLong(bytes: 254)),
        ("exa mple.com", .invalidCharacter(" ")),
        ("bücher.de", .invalidCharacter("ü")),
        ("a/b", .invalidCharacter("/")),
        ("a\\.b", .invalidCharacter("\\")),
    ])
    func invalidNames(name: String, error: DNSNameError) {
        #expect(throws: error) { try DNSQuery(name: name, id: 1) }
        #expect(!error.description.isEmpty)
    }

    // MARK: Replies

    @Test("a TXT record of two character-strings joins them without a separator")
    func plainTXT() throws {
        let bytes = DNSWire.response(question: "sel._domainkey.example.com", answers: [
            DNSWire.record(owner: Self.atQuestion, type: 16, ttl: 3600, data: DNSWire.txt(["v=DKIM1; k=rsa; ", "p=MIGfMA0"])),
        ])
        let response = try DNSResponse(parsing: bytes)
        #expect(response.id == 0x1234)
        #expect(response.isResponse && !response.isTruncated)
        #expect(response.responseCode == .noError)
        #expect(response.question == DNSQuestion(name: "sel._domainkey.example.com", type: 16, recordClass: 1))
        #expect(response.answers == [DNSRecord(
            name: "sel._domainkey.example.com", type: 16, recordClass: 1, ttl: 3600,
            data: .txt([Array("v=DKIM1; k=rsa; ".utf8), Array("p=MIGfMA0".utf8)]))])
        #expect(response.txtRecords(for: "sel._domainkey.example.com") == ["v=DKIM1; k=rsa; p=MIGfMA0"])
        #expect(response.txtRecords(for: "SEL._DomainKey.Example.COM.") == ["v=DKIM1; k=rsa; p=MIGfMA0"])
        #expect(response.txtRecords(for: "other.example.com").isEmpty)
    }

    @Test("owner names compress into the question and into each other; other types are skipped")
    func compression() throws {
        // Question "mail.example.com" at 12: "example.com" starts at 17, "com" at 25.
        let a = DNSWire.record(owner: [0xC0, 17], type: 1, data: [192, 0, 2, 1])
        let spf = DNSWire.record(owner: [0xC0, 17], type: 16, data: DNSWire.txt(["v=spf1 -all"]))
        let bytes = DNSWire.response(question: "mail.example.com", answers: [
            a, spf,
            DNSWire.record(owner: [3] + Array("www".utf8) + [0xC0, 25], type: 16, data: DNSWire.txt(["www"])),
        ])
        let response = try DNSResponse(parsing: bytes)
        #expect(response.answers.map(\.name) == ["example.com", "example.com", "www.com"])
        #expect(response.answers[0].data == .other)
        #expect(response.txtRecords(for: "example.com") == ["v=spf1 -all"])
        #expect(response.txtRecords(for: "www.com") == ["www"])
    }

    @Test("a CNAME chain inside the answer is followed to the TXT record, whatever the case")
    func cnameThenTXT() throws {
        let question = "s1._domainkey.example.com"
        let cname = DNSWire.record(owner: Self.atQuestion, type: 5, data: DNSWire.name("s1.DKIM.provider.net"))
        let targetOffset = 12 + DNSWire.question(question).count + 12
        let txt = DNSWire.record(owner: [0xC0, UInt8(targetOffset)], type: 16, data: DNSWire.txt(["v=DKIM1; p=abc"]))
        let response = try DNSResponse(parsing: DNSWire.response(question: question, answers: [cname, txt]))
        #expect(response.answers[0].data == .cname("s1.DKIM.provider.net"))
        #expect(response.answers[1].name == "s1.DKIM.provider.net")
        #expect(response.txtRecords(for: "S1._domainkey.example.com") == ["v=DKIM1; p=abc"])
    }

    @Test("a CNAME loop inside the answer ends with no records")
    func cnameLoop() throws {
        let bytes = DNSWire.response(question: "a.example", answers: [
            DNSWire.record(owner: DNSWire.name("a.example"), type: 5, data: DNSWire.name("b.example")),
            DNSWire.record(owner: DNSWire.name("b.example"), type: 5, data: DNSWire.name("a.example")),
        ])
        #expect(try DNSResponse(parsing: bytes).txtRecords(for: "a.example").isEmpty)
    }

    @Test("NXDOMAIN and a truncated reply: the code, the TC bit, no answers read")
    func nxdomainAndTruncated() throws {
        let nx = try DNSResponse(parsing: DNSWire.response(flags: 0x8183, question: "nope.example", answers: []))
        #expect(nx.responseCode == .nameError)
        #expect(nx.responseCode.description == "NXDOMAIN")
        // TC=1 with an answer count whose records are not there: the answers are not read.
        var truncated = DNSWire.response(flags: 0x8380, question: "big.example", answers: [])
        truncated[7] = 3
        let response = try DNSResponse(parsing: truncated)
        #expect(response.isTruncated && response.answers.isEmpty)
    }

    @Test("labels holding a dot or unprintable bytes are escaped and never match a dotted name")
    func escapedLabels() throws {
        let owner: [UInt8] = [3, 0x61, 0x2E, 0x62, 2, 0x00, 0x5C, 0]  // "a.b" then 0x00 and a backslash
        let bytes = DNSWire.response(question: "a.b", answers: [DNSWire.record(owner: owner, type: 16, data: DNSWire.txt(["x"]))])
        let response = try DNSResponse(parsing: bytes)
        #expect(response.answers[0].name == #"a\.b.\000\\"#)
        #expect(response.txtRecords(for: "a.b").isEmpty)
    }

    static let validReplies: [[UInt8]] = [
        DNSWire.response(question: "example.com", answers: [
            DNSWire.record(owner: atQuestion, type: 16, data: DNSWire.txt(["v=spf1", " -all"])),
        ]),
        DNSWire.response(question: "s1._domainkey.example.com", answers: [
            DNSWire.record(owner: atQuestion, type: 5, data: DNSWire.name("s1.provider.net")),
            DNSWire.record(owner: [0xC0, 55], type: 16, data: DNSWire.txt(["v=DKIM1; p=abc"])),
        ]),
        DNSWire.response(flags: 0x8183, question: "nope.example", answers: []),
    ]

    @Test("every proper prefix of a reply is refused, never read past its end", arguments: validReplies)
    func everyPrefixThrows(bytes: [UInt8]) throws {
        _ = try DNSResponse(parsing: bytes)
        for length in 0..<bytes.count {
            #expect(throws: DNSParseError.self, "prefix of \(length) bytes") { try DNSResponse(parsing: Array(bytes.prefix(length))) }
        }
    }

    @Test("compression pointers that point forward, at themselves or back into their own name are refused", arguments: [
        ([0xC0, 40], DNSParseError.pointerNotBackwards(offset: 29)),  // forward, past the message
        ([0xC0, 29], .pointerNotBackwards(offset: 29)),  // at itself
        ([1, 0x61, 0xC0, 29], .pointerNotBackwards(offset: 31)),  // a label, then back to the label
    ] as [([UInt8], DNSParseError)])
    func badPointers(owner: [UInt8], error: DNSParseError) {
        // Header 12 + question "example.com" (13 + 4): the answer's owner starts at 29.
        let bytes = DNSWire.response(question: "example.com", answers: [DNSWire.record(owner: owner, type: 16, data: DNSWire.txt(["x"]))])
        #expect(throws: error) { try DNSResponse(parsing: bytes) }
    }

    @Test("a chain of more than 64 pointers is refused; 64 are followed")
    func pointerChain() throws {
        // A root label at 0, then pointers at 1, 3, 5, …, each to the one before.
        var bytes: [UInt8] = [0, 0xC0, 0]
        for index in 1...64 { bytes += [0xC0, UInt8(2 * index - 1)] }
        var reader = DNSReader(bytes: bytes, offset: bytes.count - 4)
        #expect(try reader.readName() == ".")
        #expect(reader.offset == bytes.count - 2)
        reader = DNSReader(bytes: bytes, offset: bytes.count - 2)
        #expect(throws: DNSParseError.tooManyPointers(offset: bytes.count - 2)) { try reader.readName() }
    }

    @Test("names over 255 bytes and extended label types are refused")
    func badNames() {
        let long = DNSWire.name([String](repeating: String(repeating: "x", count: 63), count: 5).joined(separator: "."))
        let tooLong = DNSWire.response(question: "a.b", answers: [DNSWire.record(owner: long, type: 16, data: DNSWire.txt(["x"]))])
        #expect(throws: DNSParseError.nameTooLong(offset: 21)) { try DNSResponse(parsing: tooLong) }
        let extended = DNSWire.response(question: "a.b", answers: [DNSWire.record(owner: [0x41, 0], type: 16, data: DNSWire.txt(["x"]))])
        #expect(throws: DNSParseError.unsupportedLabelType(offset: 21)) { try DNSResponse(parsing: extended) }
    }

    @Test("an RDLENGTH that lies about its data is refused", arguments: [
        // Past the end of the message.
        (DNSWire.record(owner: atQuestion, type: 16, data: DNSWire.txt(["abc"]), length: 9), DNSParseError.recordDataPastEnd(offset: 33)),
        // A TXT string longer than the record, with more bytes after it in the message.
        (DNSWire.record(owner: atQuestion, type: 16, data: DNSWire.txt(["abc"]), length: 3) + [9, 9, 9], .characterStringPastRecord(offset: 33)),
        // A TXT string running into the next record.
        (DNSWire.record(owner: atQuestion, type: 16, data: [5, 0x61], length: 2) + [0x62, 0x63, 0x64, 0x65], .characterStringPastRecord(offset: 33)),
        // A CNAME target longer, or shorter, than the record.
        (DNSWire.record(owner: atQuestion, type: 5, data: DNSWire.name("a.b"), length: 3) + [9, 9], .recordDataLengthMismatch(offset: 33)),
        (DNSWire.record(owner: atQuestion, type: 5, data: DNSWire.name("a.b") + [0], length: 6), .recordDataLengthMismatch(offset: 33)),
    ] as [([UInt8], DNSParseError)])
    func lyingLengths(record: [UInt8], error: DNSParseError) {
        // Header 12 + question "a.b" (5 + 4) + owner pointer and fixed fields (12): data at 33.
        let bytes = DNSWire.response(question: "a.b", answers: [record])
        #expect(throws: error) { try DNSResponse(parsing: bytes) }
    }

    @Test("counts and sizes past the limits are refused before anything is read")
    func limits() {
        #expect(throws: DNSParseError.tooManyAnswers(65)) { try DNSResponse(parsing: DNSWire.header(id: 1, flags: 0x8180, answers: 65)) }
        #expect(throws: DNSParseError.tooManyQuestions(2)) {
            try DNSResponse(parsing: DNSWire.header(id: 1, flags: 0x8180, questions: 2, answers: 0))
        }
        #expect(throws: DNSParseError.messageTooLarge(bytes: 65_536)) { try DNSResponse(parsing: [UInt8](repeating: 0, count: 65_536)) }
        #expect(throws: DNSParseError.truncated(offset: 0)) { try DNSResponse(parsing: []) }
    }

    @Test("random and mutated replies parse or throw, deterministically, without trapping")
    func noise() {
        var random = SplitMix64(seed: 0x5EED)
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = Self.validReplies[round / 2 % Self.validReplies.count]
                for _ in 0...Int(random.next() % 4) {
                    bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
                }
            } else {
                bytes = (0..<Int(random.next() % 120)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            }
            let first = Result { () throws(DNSParseError) in try DNSResponse(parsing: bytes) }
            let second = Result { () throws(DNSParseError) in try DNSResponse(parsing: bytes) }
            #expect(first == second)
            if case .success(let response) = first {
                _ = response.txtRecords(for: response.question?.name ?? "example.com")
            }
        }
    }
}

/// A seeded generator, so that the noise test is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
