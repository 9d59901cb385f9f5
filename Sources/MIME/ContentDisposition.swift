import Foundation

/// The file name a `Content-Disposition` header suggests (RFC 6266), read defensively: the header
/// comes from an arbitrary server and the name ends up in an email attachment or a later step.
///
/// `filename*` (an RFC 8187 extended value, `UTF-8''r%C3%A9sum%C3%A9.pdf`) wins over `filename`
/// when it decodes, as RFC 6266 section 4.3 recommends; `filename` is a token or a quoted string.
/// Whatever is chosen goes through ``FilenameSanitizer``.
public enum ContentDisposition {
    /// The sanitized file name, or `nil` when the header names none usable.
    public static func filename(fromHeader header: String) -> String? {
        let parameters = parameters(of: header)
        if let extended = parameters["filename*"], let decoded = decodeExtendedValue(extended),
           let name = FilenameSanitizer.sanitize(decoded) {
            return name
        }
        if let plain = parameters["filename"] {
            return FilenameSanitizer.sanitize(plain)
        }
        return nil
    }

    // MARK: - Parameters

    /// The parameters after the disposition type, names lower-cased, first occurrence kept
    /// (a repeated parameter makes the header invalid; the first is as good a guess as any).
    static func parameters(of header: String) -> [String: String] {
        var result: [String: String] = [:]
        var scalars = Substring(header).unicodeScalars[...]
        // Skip the disposition type.
        scalars = scalars.drop { $0 != ";" }
        while scalars.first == ";" {
            scalars = scalars.dropFirst()
            scalars = scalars.drop { $0 == " " || $0 == "\t" }
            let name = scalars.prefix { $0 != "=" && $0 != ";" }
            scalars = scalars.dropFirst(name.count)
            guard scalars.first == "=" else { continue }
            scalars = scalars.dropFirst()
            scalars = scalars.drop { $0 == " " || $0 == "\t" }
            var value = ""
            if scalars.first == "\"" {
                scalars = scalars.dropFirst()
                var escaped = false
                while let scalar = scalars.first {
                    scalars = scalars.dropFirst()
                    if escaped {
                        value.unicodeScalars.append(scalar)
                        escaped = false
                    } else if scalar == "\\" {
                        escaped = true
                    } else if scalar == "\"" {
                        break
                    } else {
                        value.unicodeScalars.append(scalar)
                    }
                }
                scalars = scalars.drop { $0 != ";" }
            } else {
                let raw = scalars.prefix { $0 != ";" }
                scalars = scalars.dropFirst(raw.count)
                value = String(String.UnicodeScalarView(raw)).trimmingCharacters(in: .whitespaces)
            }
            let key = String(String.UnicodeScalarView(name)).trimmingCharacters(in: .whitespaces).lowercased()
            if !key.isEmpty, result[key] == nil {
                result[key] = value
            }
        }
        return result
    }

    /// Decodes `charset'language'percent-encoded` (RFC 8187 section 3.2.1). UTF-8 and ISO-8859-1
    /// are the charsets the RFC requires; anything else, or bytes that are not valid in the charset,
    /// is `nil` so the plain `filename` is used instead.
    static func decodeExtendedValue(_ value: String) -> String? {
        let parts = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        guard let bytes = percentDecodedBytes(parts[2]) else { return nil }
        switch parts[0].lowercased() {
        case "utf-8":
            return String(validating: bytes, as: UTF8.self)
        case "iso-8859-1":
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default:
            return nil
        }
    }

    static func percentDecodedBytes(_ text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Makes a server-suggested name safe to use as an attachment file name.
///
/// A name such as `../../etc/cron.d/job` or `C:\Windows\evil.exe` keeps only its last component
/// (RFC 6266 section 4.3: recipients must not use directory information), control, bidi and
/// invisible characters (``DeceptiveScalars``, the one definition addresses and file names share)
/// are dropped (a CR LF would forge a MIME header line, a U+202E disguise the extension), and what
/// is left is capped at 255 bytes, the usual file-system limit.
public enum FilenameSanitizer {
    public static let maximumUTF8Length = 255

    /// The safe name, or `nil` when nothing usable is left (empty, `.`, `..`).
    public static func sanitize(_ name: String) -> String? {
        let lastComponent = name.split(omittingEmptySubsequences: false) { $0 == "/" || $0 == "\\" }.last ?? ""
        let visible = lastComponent.unicodeScalars.filter { $0.value >= 0x20 && !DeceptiveScalars.isDeceptiveInText($0) }
        var result = String(String.UnicodeScalarView(visible)).trimmingCharacters(in: .whitespaces)
        while result.utf8.count > maximumUTF8Length {
            result.removeFirst()
        }
        guard !result.isEmpty, result != ".", result != ".." else { return nil }
        return result
    }
}
