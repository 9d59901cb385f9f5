public import NIOCore

/// Frames server bytes into ``SMTPReply`` values.
///
/// A reply is one or more lines `ddd-text` ending with a line `ddd text` (or just `ddd`), every line
/// with the same code (RFC 5321 section 4.2.1). Lines end in CRLF; a bare LF is accepted too, since
/// it cannot be mistaken for anything else here. The decoder is byte-exact under any split of the
/// input (tested with `ByteToMessageDecoderVerifier`) and bounds what a hostile server can make it
/// buffer: lines of at most 4,096 octets, replies of at most 512 lines.
public struct SMTPReplyDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = SMTPReply

    /// Longest line accepted (RFC 5321 allows 512; real servers send longer EHLO lines).
    public static let maximumLineLength = 4096
    /// Most lines in one reply.
    public static let maximumLines = 512

    private var pendingCode: Int?
    private var pendingLines: [String] = []
    /// Readable bytes already searched for a line end: a line that arrives a byte at a time is
    /// scanned once, not once per byte.
    private var scanned = 0

    /// Creates a decoder.
    public init() {}

    public mutating func decode(buffer: inout ByteBuffer) throws -> SMTPReply? {
        while true {
            let view = buffer.readableBytesView
            guard let newline = view.dropFirst(scanned).firstIndex(of: UInt8(ascii: "\n")) else {
                if view.count > Self.maximumLineLength { throw SMTPProtocolViolation.lineTooLong }
                scanned = view.count
                return nil
            }
            scanned = 0
            let length = newline - buffer.readerIndex
            if length > Self.maximumLineLength { throw SMTPProtocolViolation.lineTooLong }
            var line = buffer.readSlice(length: length + 1)!
            var bytes = line.readBytes(length: length)!
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            if let reply = try consume(line: bytes) { return reply }
        }
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> SMTPReply? {
        try decode(buffer: &buffer)
    }

    private mutating func consume(line: [UInt8]) throws -> SMTPReply? {
        guard line.count >= 3, line[0] >= UInt8(ascii: "1"), line[0] <= UInt8(ascii: "5"),
            line[1...2].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { throw SMTPProtocolViolation.malformedReply }
        let code = Int(line[0] - 48) * 100 + Int(line[1] - 48) * 10 + Int(line[2] - 48)
        let separator = line.count > 3 ? line[3] : UInt8(ascii: " ")
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            throw SMTPProtocolViolation.malformedReply
        }
        if let pendingCode, pendingCode != code { throw SMTPProtocolViolation.inconsistentMultilineCode }
        let text = line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : ""
        pendingLines.append(text)
        guard separator == UInt8(ascii: " ") else {
            guard pendingLines.count < Self.maximumLines else { throw SMTPProtocolViolation.tooManyLines }
            pendingCode = code
            return nil
        }
        let reply = SMTPReply(code: code, lines: pendingLines)
        pendingCode = nil
        pendingLines = []
        return reply
    }
}

/// A server broke the reply syntax; the connection cannot be trusted any more.
public enum SMTPProtocolViolation: Error, Sendable, Hashable, CustomStringConvertible {
    case lineTooLong
    case malformedReply
    case inconsistentMultilineCode
    case tooManyLines

    public var description: String {
        switch self {
        case .lineTooLong: "server reply line is too long"
        case .malformedReply: "server reply is not of the form \"ddd text\""
        case .inconsistentMultilineCode: "multi-line server reply changes its code"
        case .tooManyLines: "server reply has too many lines"
        }
    }
}
