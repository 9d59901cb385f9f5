import Foundation

/// A composed message ready to stream: its identity, its envelope, and a plan of literal header
/// text and bodies still to encode.
///
/// Rendering is pull-based: ``makeStream()`` returns a ``MessageStream`` whose chunks together are
/// the exact bytes of the message (CRLF line endings, ending in CRLF, not yet dot-stuffed). Bodies
/// and files are encoded a slice at a time, so memory stays flat whatever the attachment size.
public struct RenderedMessage: Sendable {
    /// The Message-ID header's value, `<id@domain>`.
    public let messageID: String
    /// The SMTP envelope.
    public let envelope: Envelope

    enum Source: Sendable {
        case memory([UInt8])
        case file(String)
    }

    enum Segment: Sendable {
        case literal(String)
        case encoded(Source, TransferEncoding)
    }

    let segments: [Segment]

    init(messageID: String, envelope: Envelope, segments: [Segment]) {
        self.messageID = messageID
        self.envelope = envelope
        var segments = segments
        if case .literal = segments.last { segments.append(.literal("\r\n")) }
        self.segments = segments
    }

    /// The same message for only some of its envelope's recipients (the headers unchanged): how
    /// suppressed addresses are left out of a send.
    public func sending(onlyTo recipients: [String]) -> RenderedMessage {
        var envelope = envelope
        envelope.recipients = recipients
        return RenderedMessage(messageID: messageID, envelope: envelope, segments: segments)
    }

    /// The same message with `fields` (header fields, each ending in CRLF) in front of its own:
    /// how trace and signature fields are added without rendering the message again.
    public func prepending(_ fields: String) -> RenderedMessage {
        RenderedMessage(messageID: messageID, envelope: envelope, segments: [.literal(fields)] + segments)
    }

    /// A fresh stream over the message's bytes; each call starts from the beginning.
    public func makeStream(chunkSize: Int = 64 * 1024) -> MessageStream {
        MessageStream(segments: segments, chunkSize: chunkSize)
    }

    /// The exact size of the message in octets, for SMTP `SIZE=` (RFC 1870), computed without
    /// rendering attachments: base64 has a closed form, and only in-memory text is encoded to count.
    public func byteCount() throws -> Int {
        var total = 0
        for (index, segment) in segments.enumerated() {
            let terminate = index == segments.count - 1
            switch segment {
            case .literal(let text):
                total += text.utf8.count
            case .encoded(let source, .base64):
                let length: Int
                switch source {
                case .memory(let bytes): length = bytes.count
                case .file(let path):
                    length = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
                }
                let characters = (length + 2) / 3 * 4
                let lines = (characters + TransferEncoding.maximumEncodedLineLength - 1) / TransferEncoding.maximumEncodedLineLength
                total += characters + max(lines - 1, 0) * 2 + (terminate && characters > 0 ? 2 : 0)
            case .encoded(let source, let encoding):
                guard case .memory(let bytes) = source else { preconditionFailure("text parts are in memory") }
                var encoder: any StreamingEncoder = encoding == .sevenBit ? SevenBitEncoder() : QuotedPrintableEncoder()
                var output: [UInt8] = []
                var offset = 0
                while offset < bytes.count {
                    let end = min(offset + 64 * 1024, bytes.count)
                    encoder.encode(bytes[offset..<end], into: &output)
                    total += output.count
                    output.removeAll(keepingCapacity: true)
                    offset = end
                }
                encoder.finish(terminate: terminate, into: &output)
                total += output.count
            }
        }
        return total
    }

    /// Whether rendering reads files (an attachment given by path): such a message is read by the
    /// sending task, never on an event loop.
    public var readsFiles: Bool {
        segments.contains { segment in
            if case .encoded(.file, _) = segment { return true }
            return false
        }
    }

    /// The whole message in memory; for tests and small messages.
    public func bytes() throws -> [UInt8] {
        var stream = makeStream()
        var output: [UInt8] = []
        while let chunk = try stream.next() { output += chunk }
        return output
    }
}

/// Produces a message's bytes in chunks of about `chunkSize` bytes.
///
/// Holds at most one chunk of input and one of output at a time. Files are opened when their part
/// is reached and closed when it ends.
public struct MessageStream {
    private var segments: ArraySlice<RenderedMessage.Segment>
    private let chunkSize: Int
    private var current: EncodingState?

    /// Input read per step: 57 bytes make one 76-character base64 line.
    private static let readSize = 57 * 1024

    init(segments: [RenderedMessage.Segment], chunkSize: Int) {
        self.segments = segments[...]
        self.chunkSize = max(chunkSize, 1024)
    }

    /// The next chunk, or `nil` at the end.
    ///
    /// - Throws: `CocoaError` when an attachment file cannot be read any more.
    public mutating func next() throws -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(chunkSize + chunkSize / 2)
        while output.count < chunkSize {
            if current != nil {
                let isLast = segments.isEmpty
                if try current!.step(into: &output, terminate: isLast) { current = nil }
                continue
            }
            guard let segment = segments.popFirst() else { break }
            switch segment {
            case .literal(let text):
                output += text.utf8
            case .encoded(let source, let encoding):
                current = try EncodingState(source: source, encoding: encoding)
            }
        }
        return output.isEmpty ? nil : output
    }

    /// One body being encoded: where its bytes come from and the encoder's state.
    private struct EncodingState {
        private var reader: Reader
        private var encoder: any StreamingEncoder

        init(source: RenderedMessage.Source, encoding: TransferEncoding) throws {
            switch source {
            case .memory(let bytes): reader = .memory(bytes, offset: 0)
            case .file(let path):
                guard let handle = FileHandle(forReadingAtPath: path) else {
                    throw CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: path])
                }
                reader = .file(handle)
            }
            switch encoding {
            case .sevenBit: encoder = SevenBitEncoder()
            case .quotedPrintable: encoder = QuotedPrintableEncoder()
            case .base64: encoder = Base64LineEncoder()
            }
        }

        /// Encodes one slice; returns `true` when the body is finished.
        mutating func step(into output: inout [UInt8], terminate: Bool) throws -> Bool {
            switch reader {
            case .memory(let bytes, let offset):
                let end = min(offset + MessageStream.readSize, bytes.count)
                encoder.encode(bytes[offset..<end], into: &output)
                reader = .memory(bytes, offset: end)
                if end < bytes.count { return false }
            case .file(let handle):
                if let data = try handle.read(upToCount: MessageStream.readSize), !data.isEmpty {
                    encoder.encode(ArraySlice(data), into: &output)
                    return false
                }
                try handle.close()
            }
            encoder.finish(terminate: terminate, into: &output)
            return true
        }
    }

    private enum Reader {
        case memory([UInt8], offset: Int)
        case file(FileHandle)
    }
}
