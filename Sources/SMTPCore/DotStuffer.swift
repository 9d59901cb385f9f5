public import NIOCore

/// Prepares message bytes for the DATA phase (RFC 5321 sections 4.5.2 and 4.1.1.4).
///
/// Every line ending leaves as CRLF: a bare CR or a bare LF becomes CRLF, so no bare CR or LF ever
/// reaches the server (the SMTP-smuggling family of attacks needs exactly those). A line starting
/// with `.` gets a second `.`. ``finish(into:)`` ends the last line and writes the `.` CRLF
/// terminator. Works on chunks of any size, copying runs of ordinary bytes in one write.
public struct DotStuffer: Sendable {
    private var atLineStart = true
    private var pendingCR = false

    /// A stuffer at the start of a message.
    public init() {}

    /// Appends the stuffed form of `chunk` to `buffer`.
    public mutating func stuff(_ chunk: some Collection<UInt8>, into buffer: inout ByteBuffer) {
        chunk.withContiguousStorageIfAvailable { stuff(bytes: $0, into: &buffer) }
            ?? Array(chunk).withUnsafeBufferPointer { stuff(bytes: $0, into: &buffer) }
    }

    private mutating func stuff(bytes: UnsafeBufferPointer<UInt8>, into buffer: inout ByteBuffer) {
        // Runs of bytes that need no change (well-formed CRLF lines included) are copied in one
        // write; only a bare CR or LF, or a dot at the start of a line, breaks a run.
        let crlf: StaticString = "\r\n"
        var runStart = 0
        var index = 0
        let count = bytes.count
        if pendingCR, count > 0 {
            pendingCR = false
            buffer.writeStaticString(crlf)
            atLineStart = true
            if bytes[0] == UInt8(ascii: "\n") {
                index = 1
                runStart = 1
            }
        }
        while index < count {
            switch bytes[index] {
            case UInt8(ascii: "\r"):
                if index + 1 < count {
                    if bytes[index + 1] == UInt8(ascii: "\n") {
                        index += 2
                    } else {
                        buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                        buffer.writeStaticString(crlf)
                        index += 1
                        runStart = index
                    }
                    atLineStart = true
                } else {
                    // The chunk ends in CR: whether it is bare depends on the next chunk.
                    buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                    pendingCR = true
                    index += 1
                    runStart = index
                }
            case UInt8(ascii: "\n"):
                buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                buffer.writeStaticString(crlf)
                atLineStart = true
                index += 1
                runStart = index
            case UInt8(ascii: ".") where atLineStart:
                buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                buffer.writeInteger(UInt8(ascii: "."))
                atLineStart = false
                runStart = index
                index += 1
            default:
                atLineStart = false
                // Skip eight bytes at once when none of them ends a line: only a line's first
                // byte can need a dot.
                if count - index >= 8, let base = UnsafeRawPointer(bytes.baseAddress),
                    !Self.containsLineBreak(base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                {
                    index += 8
                } else {
                    index += 1
                }
            }
        }
        buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
    }

    /// Ends the last line if needed and writes the end-of-data marker `.` CRLF.
    /// Whether any of the eight bytes in `word` is CR or LF (SWAR: a zero byte after XOR with each).
    @inline(__always)
    static func containsLineBreak(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ value: UInt64) -> Bool { (value &- ones) & ~value & highs != 0 }
        return hasZeroByte(word ^ (ones &* 0x0D)) || hasZeroByte(word ^ (ones &* 0x0A))
    }

    public mutating func finish(into buffer: inout ByteBuffer) {
        if pendingCR || !atLineStart { buffer.writeStaticString("\r\n") }
        pendingCR = false
        atLineStart = true
        buffer.writeStaticString(".\r\n")
    }
}
