// MARK: - Content-Transfer-Encoding
//
// Every part we send is 7-bit clean, so a message passes any relay without 8BITMIME. Text is sent
// as `7bit` when it already is (short lines, printable ASCII, no trailing blanks that relays may
// strip), else as quoted-printable when it is "mostly ASCII" (at most a third of its bytes need
// escaping, where QP is at most 25% longer than base64 and stays readable), else base64. Attachments are always base64. QP and base64 lines are at most 76 characters
// (RFC 2045 sections 6.7 and 6.8).

/// The transfer encodings the composer uses.
public enum TransferEncoding: String, Sendable, Hashable {
    case sevenBit = "7bit"
    case quotedPrintable = "quoted-printable"
    case base64

    /// The longest encoded line, excluding CRLF.
    static let maximumEncodedLineLength = 76

    /// Picks the encoding for a text body whose line endings are already CRLF.
    ///
    /// `7bit` also requires the text to be empty or end with CRLF: the line break that ends a
    /// message would otherwise be read back as part of the body. And it must not contain `=_`, the
    /// prefix of every boundary we generate, so no boundary can ever occur inside a part.
    static func choose(forText text: [UInt8]) -> TransferEncoding {
        var escaped = 0
        var sevenBit = text.isEmpty || text.last == 0x0A
        var lineLength = 0
        var previous: UInt8 = 0
        ByteClass.table.withUnsafeBufferPointer { table in
        text.withUnsafeBufferPointer { text in
            guard let base = UnsafeRawPointer(text.baseAddress) else { return }
            var index = 0
            while index < text.count {
                // Eight plain characters at a time: the common case in a text body.
                if text.count - index >= 8 {
                    let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                    if Self.isPlain(word) {
                        lineLength += 8
                        previous = UInt8(truncatingIfNeeded: word >> 56)
                        index += 8
                        continue
                    }
                }
                let byte = text[index]
                switch table[Int(byte)] {
                case .printable:
                    lineLength += 1
                case .carriageReturn:
                    if previous == 0x20 || previous == 0x09 { sevenBit = false }
                case .lineFeed:
                    if lineLength > maximumEncodedLineLength { sevenBit = false }
                    lineLength = 0
                case .underscore:
                    lineLength += 1
                    if previous == UInt8(ascii: "=") { sevenBit = false }
                case .equals:
                    lineLength += 1
                    escaped += 1
                case .other:
                    sevenBit = false
                    escaped += 1
                }
                previous = byte
                index += 1
            }
        }
        }
        if lineLength > maximumEncodedLineLength || previous == 0x20 || previous == 0x09 { sevenBit = false }
        if sevenBit { return .sevenBit }
        return escaped * 3 <= text.count ? .quotedPrintable : .base64
    }

    /// Whether all eight bytes of `word` (byte 0 in the low bits) are "plain" for
    /// ``choose(forText:)``: space or a visible ASCII character other than `=` and `_`, so the
    /// per-byte rules have nothing to say about them. Branch-free SWAR tests: a byte with the high
    /// bit set; a byte below 0x20 (exact once no high bit is set); a byte equal to 0x7F, `=` or `_`.
    @inline(__always)
    static func isPlain(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ value: UInt64) -> Bool { (value &- ones) & ~value & highs != 0 }
        guard word & highs == 0 else { return false }
        guard (word &- ones &* 0x20) & ~word & highs == 0 else { return false }
        return !hasZeroByte(word ^ (ones &* 0x7F)) && !hasZeroByte(word ^ (ones &* 0x3D)) && !hasZeroByte(word ^ (ones &* 0x5F))
    }

    /// What each byte means to ``choose(forText:)``, looked up rather than range-matched: the scan
    /// runs over every text body once per message.
    private enum ByteClass: UInt8 {
        case printable, carriageReturn, lineFeed, underscore, equals, other

        static let table: [ByteClass] = (0...255).map { (byte: Int) -> ByteClass in
            switch byte {
            case 0x0D: .carriageReturn
            case 0x0A: .lineFeed
            case 0x5F: .underscore
            case 0x3D: .equals
            case 0x20, 0x09, 0x21...0x7E: .printable
            default: .other
            }
        }
    }
}

// MARK: - Streaming encoders

/// Encodes a byte stream in pieces; ``finish(terminate:into:)`` ends it.
protocol StreamingEncoder {
    /// Appends the encoding of `bytes` to `output`.
    mutating func encode(_ bytes: ArraySlice<UInt8>, into output: inout [UInt8])
    /// Flushes what is held back. With `terminate`, the output is made to end with CRLF in a way
    /// that adds nothing to the decoded content (a soft line break in QP).
    mutating func finish(terminate: Bool, into output: inout [UInt8])
}

/// Copies CRLF-normalised 7-bit text unchanged.
struct SevenBitEncoder: StreamingEncoder {
    private var lastTwo: (UInt8, UInt8) = (0x0D, 0x0A)

    mutating func encode(_ bytes: ArraySlice<UInt8>, into output: inout [UInt8]) {
        output += bytes
        if bytes.count >= 2 {
            lastTwo = (bytes[bytes.endIndex - 2], bytes[bytes.endIndex - 1])
        } else if let last = bytes.last {
            lastTwo = (lastTwo.1, last)
        }
    }

    mutating func finish(terminate: Bool, into output: inout [UInt8]) {
        if terminate && lastTwo != (0x0D, 0x0A) { output += [0x0D, 0x0A] }
    }
}

/// Base64 in lines of 76 characters separated by CRLF, fed in chunks of any size.
struct Base64LineEncoder: StreamingEncoder {
    private var carry: [UInt8] = []
    private var column = 0

    mutating func encode(_ bytes: ArraySlice<UInt8>, into output: inout [UInt8]) {
        var input = bytes
        if !carry.isEmpty {
            while carry.count < 3, let byte = input.popFirst() { carry.append(byte) }
            guard carry.count == 3 else { return }
            emit(carry[...], into: &output)
            carry.removeAll(keepingCapacity: true)
        }
        let whole = input.count / 3 * 3
        emit(input.prefix(whole), into: &output)
        carry += input.dropFirst(whole)
    }

    mutating func finish(terminate: Bool, into output: inout [UInt8]) {
        if !carry.isEmpty {
            emit(carry[...], into: &output)
            carry.removeAll()
        }
        if terminate && column > 0 { output += [0x0D, 0x0A] }
    }

    /// Encodes `bytes` (whole triples, but for the last call's tail), breaking lines at 76
    /// characters. Written through raw buffers: appending byte by byte cost a uniqueness check
    /// per byte, and base64 was half the time of a 10 MiB attachment's send (twice that when
    /// DKIM hashes the body first).
    private mutating func emit(_ bytes: ArraySlice<UInt8>, into output: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        let lineLength = TransferEncoding.maximumEncodedLineLength
        let encodedCount = (bytes.count + 2) / 3 * 4
        let start = output.count
        // A CRLF before each quad that starts at the end of a full line: at most this many.
        let capacity = encodedCount + ((column + encodedCount) / lineLength + 1) * 2
        output.append(contentsOf: repeatElement(0, count: capacity))
        var column = self.column
        let end = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                Base64.table.withUnsafeBufferPointer { table in
                    var o = start
                    var i = 0
                    let count = input.count
                    // Whole lines first: 19 quads from 57 bytes, no checks inside.
                    if column == 0 || column == lineLength {
                        while count - i >= 57 {
                            if column == lineLength {
                                out[o] = 0x0D
                                out[o + 1] = 0x0A
                                o += 2
                            }
                            for _ in 0..<19 {
                                let value = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                                out[o] = table[Int(value >> 18)]
                                out[o + 1] = table[Int(value >> 12 & 63)]
                                out[o + 2] = table[Int(value >> 6 & 63)]
                                out[o + 3] = table[Int(value & 63)]
                                o += 4
                                i += 3
                            }
                            column = lineLength
                        }
                    }
                    while i < count {
                        if column == lineLength {
                            out[o] = 0x0D
                            out[o + 1] = 0x0A
                            o += 2
                            column = 0
                        }
                        let rest = count - i
                        let value = UInt32(input[i]) << 16 | (rest > 1 ? UInt32(input[i + 1]) << 8 : 0) | (rest > 2 ? UInt32(input[i + 2]) : 0)
                        out[o] = table[Int(value >> 18 & 63)]
                        out[o + 1] = table[Int(value >> 12 & 63)]
                        out[o + 2] = rest > 1 ? table[Int(value >> 6 & 63)] : UInt8(ascii: "=")
                        out[o + 3] = rest > 2 ? table[Int(value & 63)] : UInt8(ascii: "=")
                        o += 4
                        column += 4
                        i += 3
                    }
                    return o
                }
            }
        }
        output.removeLast(output.count - end)
        self.column = column
    }
}

/// Quoted-printable (RFC 2045 section 6.7) for CRLF-normalised text, fed in chunks of any size.
///
/// Literal: printable ASCII except `=`, and blanks not at the end of a line. Everything else is
/// `=XX`. Lines are broken with a soft `=` so none exceeds 76 characters, never inside `=XX`.
struct QuotedPrintableEncoder: StreamingEncoder {
    private var column = 0
    /// A blank whose fate (literal, or `=20`/`=09` at a line end) waits for the next byte.
    private var pendingBlank: UInt8?
    private var sawCR = false

    mutating func encode(_ bytes: ArraySlice<UInt8>, into output: inout [UInt8]) {
        // Worst case: every byte escaped (3) plus a soft break (3) every 25 escapes, and a held
        // CR and blank from the previous call. Written through a raw buffer: a per-byte `append`
        // costs a uniqueness check each time, which dominated the profile of a 64 KiB body.
        let capacity = bytes.count * 3 + (bytes.count / 24 + 2) * 3 + 12
        let encoded = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            var writer = QuotedPrintableWriter(buffer: buffer, column: column)
            bytes.withUnsafeBufferPointer { input in
                for byte in input {
                    if sawCR {
                        sawCR = false
                        if byte == 0x0A {
                            if let blank = pendingBlank { writer.put(encoded: blank) }
                            pendingBlank = nil
                            writer.lineBreak()
                            continue
                        }
                        if let blank = pendingBlank { writer.put(literal: blank) }
                        pendingBlank = nil
                        writer.put(encoded: 0x0D)
                    }
                    switch byte {
                    case 0x0D:
                        sawCR = true
                    case 0x20, 0x09:
                        if let blank = pendingBlank { writer.put(literal: blank) }
                        pendingBlank = byte
                    default:
                        if let blank = pendingBlank { writer.put(literal: blank) }
                        pendingBlank = nil
                        if byte >= 0x21 && byte <= 0x7E && byte != UInt8(ascii: "=") {
                            writer.put(literal: byte)
                        } else {
                            writer.put(encoded: byte)
                        }
                    }
                }
            }
            column = writer.column
            count = writer.count
        }
        output.append(contentsOf: encoded)
    }

    mutating func finish(terminate: Bool, into output: inout [UInt8]) {
        let encoded = [UInt8](unsafeUninitializedCapacity: 24) { buffer, count in
            var writer = QuotedPrintableWriter(buffer: buffer, column: column)
            if sawCR {
                sawCR = false
                if let blank = pendingBlank { writer.put(literal: blank) }
                pendingBlank = nil
                writer.put(encoded: 0x0D)
            }
            if let blank = pendingBlank { writer.put(encoded: blank) }
            pendingBlank = nil
            if terminate && writer.column > 0 { writer.softBreak() }
            column = writer.column
            count = writer.count
        }
        output.append(contentsOf: encoded)
    }
}

/// Writes quoted-printable into a buffer sized for the worst case, tracking the output column.
private struct QuotedPrintableWriter {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var column: Int
    var count = 0

    init(buffer: UnsafeMutableBufferPointer<UInt8>, column: Int) {
        self.buffer = buffer
        self.column = column
    }

    mutating func put(literal byte: UInt8) {
        breakLineIfNeeded(for: 1)
        buffer[count] = byte
        count += 1
        column += 1
    }

    mutating func put(encoded byte: UInt8) {
        breakLineIfNeeded(for: 3)
        buffer[count] = UInt8(ascii: "=")
        buffer[count + 1] = HexDigits.upper[Int(byte >> 4)]
        buffer[count + 2] = HexDigits.upper[Int(byte & 0x0F)]
        count += 3
        column += 3
    }

    mutating func lineBreak() {
        buffer[count] = 0x0D
        buffer[count + 1] = 0x0A
        count += 2
        column = 0
    }

    mutating func softBreak() {
        buffer[count] = UInt8(ascii: "=")
        count += 1
        lineBreak()
    }

    /// Keeps room for the soft break's `=`: content never passes column 75.
    private mutating func breakLineIfNeeded(for width: Int) {
        if column + width > TransferEncoding.maximumEncodedLineLength - 1 { softBreak() }
    }
}

// MARK: - Base64 alphabet

enum Base64 {
    static let table: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Appends the padded base64 of `bytes`, without line breaks.
    static func encode(_ bytes: ArraySlice<UInt8>, into output: inout [UInt8]) {
        output.reserveCapacity(output.count + (bytes.count + 2) / 3 * 4)
        Base64.table.withUnsafeBufferPointer { table in
            var index = bytes.startIndex
            while bytes.endIndex - index >= 3 {
                let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                output.append(table[Int(value >> 18 & 63)])
                output.append(table[Int(value >> 12 & 63)])
                output.append(table[Int(value >> 6 & 63)])
                output.append(table[Int(value & 63)])
                index += 3
            }
            let rest = bytes.endIndex - index
            if rest > 0 {
                let value = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
                output.append(table[Int(value >> 18 & 63)])
                output.append(table[Int(value >> 12 & 63)])
                output.append(rest == 2 ? table[Int(value >> 6 & 63)] : UInt8(ascii: "="))
                output.append(UInt8(ascii: "="))
            }
        }
    }
}
