public import Foundation

/// Small, independent decoders for checking what the composer wrote. Deliberately written from
/// the RFCs rather than by calling the encoders, so a bug cannot cancel itself out.
public enum MIMEDecoding {
    /// Decodes quoted-printable (RFC 2045 section 6.7): `=XX`, soft breaks `=` CRLF.
    public static func quotedPrintable(_ text: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: "=") {
                if index + 2 < text.count, text[index + 1] == 0x0D, text[index + 2] == 0x0A {
                    index += 3
                    continue
                }
                guard index + 2 < text.count, let high = hex(text[index + 1]), let low = hex(text[index + 2]) else {
                    return nil
                }
                output.append(high << 4 | low)
                index += 3
                continue
            }
            output.append(byte)
            index += 1
        }
        return output
    }

    /// Decodes base64 that may contain CRLF line breaks.
    public static func base64(_ text: [UInt8]) -> [UInt8]? {
        let compact = text.filter { $0 != 0x0D && $0 != 0x0A }
        return Data(base64Encoded: Data(compact)).map(Array.init)
    }

    /// Decodes an unstructured header value: unfolds, then joins adjacent RFC 2047 encoded-words.
    public static func headerValue(_ folded: String) -> String? {
        let unfolded = folded.replacingOccurrences(of: "\r\n", with: "")
        let words = unfolded.split(separator: " ", omittingEmptySubsequences: false)
        guard words.contains(where: { $0.hasPrefix("=?") }) else { return unfolded }
        var bytes: [UInt8] = []
        for word in words {
            guard word.hasPrefix("=?"), word.hasSuffix("?="), word.utf8.count <= 75 else { return nil }
            let parts = word.dropFirst(2).dropLast(2).split(separator: "?", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].lowercased() == "utf-8" else { return nil }
            switch parts[1].uppercased() {
            case "B":
                guard let decoded = base64(Array(parts[2].utf8)) else { return nil }
                guard String(validating: decoded, as: UTF8.self) != nil else { return nil }
                bytes += decoded
            case "Q":
                let underscoresAsSpace = parts[2].utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: " ") : $0 }
                guard let decoded = quotedPrintable(underscoresAsSpace),
                    String(validating: decoded, as: UTF8.self) != nil
                else { return nil }
                bytes += decoded
            default:
                return nil
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A rendered message split into its header block and body, with header lookup.
public struct ParsedMessage {
    /// Header lines as they were, folded, each with its continuation lines.
    public let rawHeaders: [String]
    /// Everything after the blank line.
    public let body: [UInt8]

    /// Splits `bytes` at the first empty line.
    public init(_ bytes: [UInt8]) {
        let separator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        var split = bytes.count
        if bytes.count >= 4 {
            for index in 0...(bytes.count - 4) where Array(bytes[index..<index + 4]) == separator {
                split = index
                break
            }
        }
        let head = String(decoding: bytes[..<min(split + 2, bytes.count)], as: UTF8.self)
        var fields: [String] = []
        for line in head.components(separatedBy: "\r\n") where !line.isEmpty {
            if line.hasPrefix(" ") || line.hasPrefix("\t"), !fields.isEmpty {
                fields[fields.count - 1] += "\r\n" + line
            } else {
                fields.append(line)
            }
        }
        rawHeaders = fields
        body = split + 4 <= bytes.count ? Array(bytes[(split + 4)...]) : []
    }

    /// The folded values of every header named `name` (case-insensitive), without `Name:` and the
    /// single space after it.
    public func values(_ name: String) -> [String] {
        rawHeaders.compactMap { field in
            guard let colon = field.firstIndex(of: ":"), field[..<colon].lowercased() == name.lowercased() else {
                return nil
            }
            let value = field[field.index(after: colon)...]
            return String(value.hasPrefix(" ") ? value.dropFirst() : value)
        }
    }

    /// The decoded value of the first header named `name`.
    public func decoded(_ name: String) -> String? {
        values(name).first.flatMap(MIMEDecoding.headerValue)
    }
}
