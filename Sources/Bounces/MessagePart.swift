import Foundation

/// A MIME entity as the bounce parser reads it: its header fields and its body, undecoded.
///
/// Bounces come from anywhere on the internet, so everything is bounded: header fields per part,
/// the length of a field, the parts of a multipart and how deep they nest.
struct MessagePart {
    static let maximumFields = 500
    static let maximumFieldLength = 16_384
    static let maximumParts = 100
    static let maximumDepth = 8

    var fields: [(name: String, value: String)]
    var body: ArraySlice<UInt8>

    /// Splits `bytes` at the first empty line (CRLF or bare LF line endings).
    init(_ bytes: ArraySlice<UInt8>) {
        var fields: [(name: String, value: String)] = []
        var index = bytes.startIndex
        var bodyStart = bytes.endIndex
        while index < bytes.endIndex {
            var end = bytes[index...].firstIndex(of: 0x0A) ?? bytes.endIndex
            let next = end < bytes.endIndex ? end + 1 : end
            if end > index && bytes[end - 1] == 0x0D { end -= 1 }
            let line = bytes[index..<end]
            if line.isEmpty {
                bodyStart = next
                break
            }
            if line.first == 0x20 || line.first == 0x09 {
                if !fields.isEmpty, fields[fields.count - 1].value.utf8.count < Self.maximumFieldLength {
                    fields[fields.count - 1].value += " " + Self.text(line).trimmingCharacters(in: .whitespaces)
                }
            } else if let colon = line.firstIndex(of: 0x3A), fields.count < Self.maximumFields {
                let name = Self.text(line[line.startIndex..<colon]).trimmingCharacters(in: .whitespaces).lowercased()
                let value = Self.text(line[(colon + 1)...].prefix(Self.maximumFieldLength)).trimmingCharacters(in: .whitespaces)
                if !name.isEmpty { fields.append((name, value)) }
            }
            index = next
        }
        self.fields = fields
        body = bytes[bodyStart...]
    }

    /// The first field named `name` (lowercase).
    func field(_ name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// Every field named `name` (lowercase), in order.
    func fields(named name: String) -> [String] {
        fields.filter { $0.name == name }.map(\.value)
    }

    /// `type/subtype` lowercased (`text/plain` when absent), and its parameters (names lowercased).
    var contentType: (type: String, parameters: [String: String]) {
        guard let value = field("content-type") else { return ("text/plain", [:]) }
        let pieces = Self.splitParameters(value)
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = piece[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = piece[piece.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            if parameters[name] == nil { parameters[name] = value }
        }
        let type = (pieces.first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        return (type.isEmpty ? "text/plain" : type, parameters)
    }

    /// The body with its `Content-Transfer-Encoding` (base64, quoted-printable) undone.
    var decodedBody: [UInt8] {
        switch field("content-transfer-encoding")?.lowercased() {
        case "base64"?: Self.base64(body)
        case "quoted-printable"?: Self.quotedPrintable(body)
        default: Array(body)
        }
    }

    /// The parts of a multipart body, each split at its header block; none for other types.
    var parts: [MessagePart] {
        guard contentType.type.hasPrefix("multipart/"), let boundary = contentType.parameters["boundary"],
            !boundary.isEmpty, boundary.utf8.count <= 200
        else { return [] }
        let delimiter = Array("--\(boundary)".utf8)
        // Every line that starts with the delimiter: the part before it ends at the line break.
        var starts: [(lineStart: Int, after: Int, closing: Bool)] = []
        var index = body.startIndex
        while index < body.endIndex, starts.count <= Self.maximumParts {
            let lineEnd = body[index...].firstIndex(of: 0x0A) ?? body.endIndex
            let line = body[index..<lineEnd]
            if line.starts(with: delimiter) {
                let rest = line.dropFirst(delimiter.count)
                starts.append((index, lineEnd < body.endIndex ? lineEnd + 1 : lineEnd, rest.starts(with: [0x2D, 0x2D])))
            }
            index = lineEnd < body.endIndex ? lineEnd + 1 : lineEnd
        }
        var parts: [MessagePart] = []
        for (current, next) in zip(starts, starts.dropFirst()) where !current.closing {
            var end = next.lineStart
            // The line break before a delimiter belongs to the delimiter.
            if end > current.after, body[end - 1] == 0x0A { end -= 1 }
            if end > current.after, body[end - 1] == 0x0D { end -= 1 }
            parts.append(MessagePart(body[current.after..<max(end, current.after)]))
        }
        // A message cut short: the last part runs to the end.
        if let last = starts.last, !last.closing, parts.count < Self.maximumParts {
            parts.append(MessagePart(body[last.after...]))
        }
        return parts
    }

    // MARK: - Text

    static func text(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Splits at `;` outside double quotes.
    static func splitParameters(_ value: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var quoted = false
        for character in value {
            if character == "\"" { quoted.toggle() }
            if character == ";" && !quoted {
                pieces.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        pieces.append(current)
        return pieces
    }

    static func base64(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        let filtered = bytes.filter { !($0 == 0x0D || $0 == 0x0A || $0 == 0x20 || $0 == 0x09) }
        var padded = Data(filtered)
        let remainder = padded.count % 4
        if remainder != 0 { padded.append(contentsOf: [UInt8](repeating: 0x3D, count: 4 - remainder)) }
        return Data(base64Encoded: padded).map(Array.init) ?? Array(bytes)
    }

    static func quotedPrintable(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 0x30...0x39: byte - 0x30
            case 0x41...0x46: byte - 0x41 + 10
            case 0x61...0x66: byte - 0x61 + 10
            default: nil
            }
        }
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard byte == 0x3D else {
                output.append(byte)
                index += 1
                continue
            }
            let rest = bytes[(index + 1)...]
            if rest.starts(with: [0x0D, 0x0A]) {
                index += 3
            } else if rest.first == 0x0A {
                index += 2
            } else if rest.count >= 2, let high = hex(rest[rest.startIndex]), let low = hex(rest[rest.startIndex + 1]) {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(byte)
                index += 1
            }
        }
        return output
    }
}
