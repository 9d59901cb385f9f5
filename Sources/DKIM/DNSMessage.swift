/// The DNS wire format (RFC 1035 §4) for the one thing "Check DNS" needs: ask a recursive server
/// for the TXT records of a name (DKIM keys, SPF policies, DMARC policies) and read its answer.
///
/// Pure values, no I/O. Replies come from the network, so the parser treats them as hostile:
/// every length is checked against the buffer, compression pointers may only go backwards, and
/// every count is bounded, so no input makes it crash, loop or allocate without bound.

// MARK: - Query

/// A standard recursive query (RD=1) for the TXT records of one name, with an EDNS0 OPT record
/// (RFC 6891) advertising a 1232-byte UDP payload, the size DNS Flag Day 2020 settled on to avoid
/// IP fragmentation.
public struct DNSQuery: Sendable, Equatable {
    /// The UDP payload size the OPT record advertises.
    public static let udpPayloadSize: UInt16 = 1232

    /// The message id the reply must echo.
    public let id: UInt16
    /// The name asked about, as given but without a trailing dot.
    public let name: String
    /// The message on the wire (without the 2-byte length prefix TCP adds).
    public let bytes: [UInt8]

    /// Builds the query for the TXT records of `name` (trailing dot optional).
    ///
    /// - Throws: ``DNSNameError`` naming the rule `name` breaks.
    public init(name: String, id: UInt16) throws(DNSNameError) {
        self.init(validatedName: try Self.validatedName(name), id: id)
    }

    /// Builds the query for a name ``validatedName(_:)`` returned.
    init(validatedName name: String, id: UInt16) {
        self.id = id
        self.name = name
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12 + name.utf8.count + 2 + 4 + 11)
        // Header: id; flags with only RD set; QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 1 (the OPT).
        bytes.appendUInt16(id)
        bytes.appendUInt16(0x0100)
        for count: UInt16 in [1, 0, 0, 1] { bytes.appendUInt16(count) }
        // Question: the labels, the root, QTYPE TXT, QCLASS IN.
        for label in name.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
        bytes.appendUInt16(DNSRecordType.txt)
        bytes.appendUInt16(DNSRecordType.classIN)
        // OPT pseudo-record: root owner, TYPE 41, CLASS = UDP payload size, TTL = extended RCODE 0,
        // version 0, no flags (DO=0: no DNSSEC records wanted), RDLENGTH 0.
        bytes.append(0)
        bytes.appendUInt16(DNSRecordType.opt)
        bytes.appendUInt16(Self.udpPayloadSize)
        bytes.append(contentsOf: [0, 0, 0, 0, 0, 0])
        self.bytes = bytes
    }

    /// `name` without its trailing dot, if it is a host-style DNS name: labels of 1–63 letters,
    /// digits, hyphens or underscores (`_domainkey`, `_dmarc`), at most 253 bytes in all.
    static func validatedName(_ name: String) throws(DNSNameError) -> String {
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        guard !trimmed.isEmpty else { throw .empty }
        guard trimmed.utf8.count <= 253 else { throw .nameTooLong(bytes: trimmed.utf8.count) }
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty else { throw .emptyLabel }
            guard label.utf8.count <= 63 else { throw .labelTooLong(String(label)) }
            if let bad = label.unicodeScalars.first(where: { !Self.isNameScalar($0) }) {
                throw .invalidCharacter(bad)
            }
        }
        return trimmed
    }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_": true
        default: false
        }
    }
}

/// Why a name cannot be asked about.
public enum DNSNameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name is empty (or only a dot).
    case empty
    /// Two dots in a row, or a leading dot.
    case emptyLabel
    /// A label longer than 63 bytes.
    case labelTooLong(String)
    /// The whole name is longer than 253 bytes.
    case nameTooLong(bytes: Int)
    /// A character other than a letter, digit, hyphen or underscore in a label.
    case invalidCharacter(Unicode.Scalar)

    public var description: String {
        switch self {
        case .empty: "the DNS name is empty"
        case .emptyLabel: "a DNS name has no empty labels (no leading dot, no two dots in a row)"
        case .labelTooLong(let label): "a DNS label is at most 63 bytes; \"\(label.prefix(20))…\" has \(label.utf8.count)"
        case .nameTooLong(let bytes): "a DNS name is at most 253 bytes; this one has \(bytes)"
        case .invalidCharacter(let scalar):
            "a DNS label holds only letters, digits, hyphens and underscores (an internationalized name in its xn-- form), not \(scalar.escaped(asASCII: true))"
        }
    }
}

// MARK: - Response

/// Record types and the class this client knows by number.
enum DNSRecordType {
    static let cname: UInt16 = 5
    static let txt: UInt16 = 16
    static let opt: UInt16 = 41
    static let classIN: UInt16 = 1
}

/// A server's reply: its header, its question and its answer section. The authority and
/// additional sections are not read; nothing here needs them.
public struct DNSResponse: Sendable, Equatable {
    /// The most answer records a reply may carry; a TXT lookup needs a handful.
    public static let maximumAnswers = 64
    /// The largest message accepted: the most a TCP length prefix can announce.
    public static let maximumMessageBytes = 65_535

    /// The id, echoing the query's.
    public var id: UInt16
    /// QR: the message is a response.
    public var isResponse: Bool
    /// TC: the reply did not fit; ask again over TCP. A truncated reply's answers are incomplete by
    /// definition (RFC 2181 §9), so they are not read and ``answers`` is empty.
    public var isTruncated: Bool
    /// RCODE.
    public var responseCode: DNSResponseCode
    /// The question echoed back, if the reply carries one.
    public var question: DNSQuestion?
    /// The answer section.
    public var answers: [DNSRecord]

    /// Parses a message, checking every length and pointer against `bytes`.
    ///
    /// - Throws: ``DNSParseError`` naming what is wrong and where.
    public init(parsing bytes: [UInt8]) throws(DNSParseError) {
        guard bytes.count <= Self.maximumMessageBytes else { throw .messageTooLarge(bytes: bytes.count) }
        var reader = DNSReader(bytes: bytes)
        id = try reader.readUInt16()
        let flags = try reader.readUInt16()
        isResponse = flags & 0x8000 != 0
        isTruncated = flags & 0x0200 != 0
        responseCode = DNSResponseCode(rawValue: UInt8(flags & 0x000F))
        let questionCount = Int(try reader.readUInt16())
        let answerCount = Int(try reader.readUInt16())
        _ = try reader.readUInt16()  // NSCOUNT
        _ = try reader.readUInt16()  // ARCOUNT
        guard questionCount <= 1 else { throw .tooManyQuestions(questionCount) }
        guard answerCount <= Self.maximumAnswers else { throw .tooManyAnswers(answerCount) }

        question = nil
        if questionCount == 1 {
            let name = try reader.readName()
            question = DNSQuestion(name: name, type: try reader.readUInt16(), recordClass: try reader.readUInt16())
        }
        answers = []
        guard !isTruncated else { return }
        for _ in 0..<answerCount {
            answers.append(try reader.readRecord())
        }
    }

    /// The TXT records of `name` in the answer section, each record's character-strings joined
    /// without a separator (RFC 6376 §3.6.2.2, RFC 7208 §3.3) and decoded as UTF-8, invalid bytes
    /// replaced. Follows a CNAME chain inside the answer section (at most 8 links); names compare
    /// case-insensitively and without a trailing dot.
    public func txtRecords(for name: String) -> [String] {
        var current = Self.comparable(name.hasSuffix(".") ? String(name.dropLast()) : name)
        for _ in 0...8 {
            let owned = answers.filter { Self.comparable($0.name) == current }
            let texts = owned.compactMap { record -> String? in
                guard case .txt(let strings) = record.data else { return nil }
                return String(decoding: strings.joined(), as: UTF8.self)
            }
            if !texts.isEmpty { return texts }
            let alias = owned.lazy.compactMap { record -> String? in
                if case .cname(let target) = record.data { target } else { nil }
            }.first
            guard let alias else { return [] }
            current = Self.comparable(alias)
        }
        return []
    }

    /// `name` with ASCII letters in lower case: DNS compares names ignoring ASCII case only
    /// (RFC 4343), and presentation escapes (`\.`, `\DDD`) keep a dot inside a label distinct.
    static func comparable(_ name: String) -> String {
        String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}

/// A reply's RCODE (RFC 1035 §4.1.1), a struct so that codes this client does not name still
/// round-trip.
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 4-bit code.
    public var rawValue: UInt8
    /// Creates a code.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// NOERROR.
    public static let noError = DNSResponseCode(rawValue: 0)
    /// FORMERR: the server could not read the query.
    public static let formatError = DNSResponseCode(rawValue: 1)
    /// SERVFAIL: the server could not get an answer.
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    /// NXDOMAIN: the name does not exist.
    public static let nameError = DNSResponseCode(rawValue: 3)
    /// NOTIMP.
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    /// REFUSED: the server will not answer this client.
    public static let refused = DNSResponseCode(rawValue: 5)

    public var description: String {
        let names = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]
        return Int(rawValue) < names.count ? names[Int(rawValue)] : "RCODE \(rawValue)"
    }
}

/// The question section's entry.
public struct DNSQuestion: Sendable, Equatable {
    /// QNAME, in presentation form (see ``DNSRecord/name``).
    public var name: String
    /// QTYPE.
    public var type: UInt16
    /// QCLASS.
    public var recordClass: UInt16
}

/// One resource record of the answer section.
public struct DNSRecord: Sendable, Equatable {
    /// What this client reads of a record's data.
    public enum RecordData: Sendable, Equatable {
        /// TXT: the character-strings, each without its length byte.
        case txt([[UInt8]])
        /// CNAME: the canonical name, in presentation form.
        case cname(String)
        /// Any other type, skipped.
        case other
    }

    /// The owner name in presentation form: labels joined by dots, no trailing dot (the root is
    /// `.`), a dot or backslash inside a label escaped with a backslash and any byte outside
    /// printable ASCII written `\DDD` (RFC 1035 §5.1).
    public var name: String
    /// TYPE.
    public var type: UInt16
    /// CLASS.
    public var recordClass: UInt16
    /// TTL in seconds.
    public var ttl: UInt32
    /// The record data.
    public var data: RecordData
}

/// Why a reply could not be read. Offsets count from the first byte of the message.
public enum DNSParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Larger than ``DNSResponse/maximumMessageBytes``.
    case messageTooLarge(bytes: Int)
    /// The message ends inside the field that starts at `offset`.
    case truncated(offset: Int)
    /// More than one question.
    case tooManyQuestions(Int)
    /// More than ``DNSResponse/maximumAnswers`` answers.
    case tooManyAnswers(Int)
    /// A compression pointer that does not point strictly before the name part it ends.
    case pointerNotBackwards(offset: Int)
    /// More than 64 compression pointers followed in one name.
    case tooManyPointers(offset: Int)
    /// A name longer than 255 bytes on the wire.
    case nameTooLong(offset: Int)
    /// A label type other than a plain label (`00`) or a pointer (`11`).
    case unsupportedLabelType(offset: Int)
    /// A record whose RDLENGTH runs past the end of the message.
    case recordDataPastEnd(offset: Int)
    /// A TXT character-string that runs past its record's RDLENGTH.
    case characterStringPastRecord(offset: Int)
    /// A CNAME whose target does not fill its RDLENGTH exactly.
    case recordDataLengthMismatch(offset: Int)

    public var description: String {
        switch self {
        case .messageTooLarge(let bytes): "a DNS message of \(bytes) bytes is larger than 65535"
        case .truncated(let offset): "the DNS message ends inside the field at byte \(offset)"
        case .tooManyQuestions(let count): "a DNS reply with \(count) questions (at most 1)"
        case .tooManyAnswers(let count): "a DNS reply with \(count) answers (at most \(DNSResponse.maximumAnswers))"
        case .pointerNotBackwards(let offset): "the compression pointer at byte \(offset) does not point backwards"
        case .tooManyPointers(let offset): "the name at byte \(offset) follows more than 64 compression pointers"
        case .nameTooLong(let offset): "the name at byte \(offset) is longer than 255 bytes"
        case .unsupportedLabelType(let offset): "the label at byte \(offset) has an unsupported type"
        case .recordDataPastEnd(let offset): "the record data at byte \(offset) runs past the end of the message"
        case .characterStringPastRecord(let offset): "the TXT string at byte \(offset) runs past its record's data"
        case .recordDataLengthMismatch(let offset): "the CNAME at byte \(offset) does not fill its record data exactly"
        }
    }
}

// MARK: - Reading

/// A cursor over a message that checks every read against the buffer.
struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func readUInt8() throws(DNSParseError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func readUInt16() throws(DNSParseError) -> UInt16 {
        guard bytes.count - offset >= 2 else { throw .truncated(offset: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func readUInt32() throws(DNSParseError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw .truncated(offset: offset) }
        defer { offset += 4 }
        return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func readRecord() throws(DNSParseError) -> DNSRecord {
        let name = try readName()
        let type = try readUInt16()
        let recordClass = try readUInt16()
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        let start = offset
        guard bytes.count - start >= length else { throw .recordDataPastEnd(offset: start) }
        let end = start + length
        let data: DNSRecord.RecordData
        switch type {
        case DNSRecordType.txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let count = Int(bytes[offset])
                guard end - offset - 1 >= count else { throw .characterStringPastRecord(offset: offset) }
                strings.append(Array(bytes[offset + 1..<offset + 1 + count]))
                offset += 1 + count
            }
            data = .txt(strings)
        case DNSRecordType.cname:
            let target = try readName()
            guard offset == end else { throw .recordDataLengthMismatch(offset: start) }
            data = .cname(target)
        default:
            data = .other
        }
        offset = end
        return DNSRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data)
    }

    /// Reads a name at the cursor, following compression pointers (RFC 1035 §4.1.4), and leaves
    /// the cursor after the name's bytes in place (after the first pointer, if any).
    ///
    /// Each pointer must point strictly before the start of the run of labels it ends, so the runs
    /// start ever earlier in the message and following pointers always stops: a loop (a pointer to
    /// itself, or two that point at each other) and a pointer forward into unread bytes are errors.
    mutating func readName() throws(DNSParseError) -> String {
        let nameStart = offset
        var position = offset
        var runStart = offset
        var resumeAt: Int?
        var jumps = 0
        var wireLength = 1  // the root label's length byte
        var text: [UInt8] = []
        while true {
            guard position < bytes.count else { throw .truncated(offset: position) }
            let length = Int(bytes[position])
            switch length >> 6 {
            case 0b00 where length == 0:
                offset = resumeAt ?? position + 1
                return text.isEmpty ? "." : String(decoding: text, as: UTF8.self)
            case 0b00:
                wireLength += 1 + length
                guard wireLength <= 255 else { throw .nameTooLong(offset: nameStart) }
                guard bytes.count - position - 1 >= length else { throw .truncated(offset: position) }
                if !text.isEmpty { text.append(UInt8(ascii: ".")) }
                Self.appendPresentation(of: bytes[position + 1...position + length], to: &text)
                position += 1 + length
            case 0b11:
                guard position + 1 < bytes.count else { throw .truncated(offset: position) }
                let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < runStart else { throw .pointerNotBackwards(offset: position) }
                jumps += 1
                guard jumps <= 64 else { throw .tooManyPointers(offset: nameStart) }
                if resumeAt == nil { resumeAt = position + 2 }
                position = target
                runStart = target
            default:
                throw .unsupportedLabelType(offset: position)
            }
        }
    }

    /// Writes a label's bytes as RFC 1035 §5.1 presentation text, so that a label holding a dot
    /// can never pass for two labels when names are compared.
    private static func appendPresentation(of label: ArraySlice<UInt8>, to text: inout [UInt8]) {
        for byte in label {
            switch byte {
            case UInt8(ascii: "."), UInt8(ascii: "\\"):
                text.append(UInt8(ascii: "\\"))
                text.append(byte)
            case 0x21...0x7E:
                text.append(byte)
            default:
                text.append(UInt8(ascii: "\\"))
                text.append(contentsOf: [byte / 100, byte / 10 % 10, byte % 10].map { UInt8(ascii: "0") + $0 })
            }
        }
    }
}

extension [UInt8] {
    mutating func appendUInt16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }
}
