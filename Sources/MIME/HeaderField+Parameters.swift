// MARK: - MIME parameters (RFC 2045 section 5.1, RFC 2231)
//
// A short printable-ASCII value is sent as a quoted-string. Anything else (non-ASCII, control
// characters, a value too long for one line) is sent in RFC 2231 form: `name*=utf-8''%E2%82%AC`
// with percent-encoded UTF-8, split into numbered continuations `name*0*=`, `name*1*=` … so that
// every line stays within 78 characters. Continuations split between characters only.

extension HeaderField {
    /// Longest quoted value kept as a plain quoted-string.
    private static let longestQuotedValue = 60
    /// Longest percent-encoded payload in one continuation.
    private static let continuationPayload = 56

    /// Appends `; name=value` atoms (the `;` ends the previous atom, as RFC 2045 writes it).
    mutating func appendParameter(_ name: String, _ value: String) {
        guard let last = atoms.indices.last else { preconditionFailure("a parameter needs a value before it") }
        atoms[last].text += ";"
        // "=?" inside a quoted file name is decoded as an encoded-word by many clients (RFC 2047
        // forbids it, they do it anyway), so such names take the RFC 2231 form, which nobody misreads.
        if value.utf8.count <= Self.longestQuotedValue && value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F })
            && !value.contains("=?")
        {
            append(name + "=" + Self.quoted(value))
            return
        }
        let segments = Self.percentEncodedSegments(value)
        if segments.count == 1 {
            append("\(name)*=utf-8''\(segments[0])")
            return
        }
        for (index, segment) in segments.enumerated() {
            let prefix = index == 0 ? "utf-8''" : ""
            let separator = index == segments.count - 1 ? "" : ";"
            append("\(name)*\(index)*=\(prefix)\(segment)\(separator)")
        }
    }

    /// A value as a quoted-string, escaping `"` and `\`.
    static func quoted(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { result.unicodeScalars.append("\\") }
            result.unicodeScalars.append(scalar)
        }
        return result + "\""
    }

    /// RFC 2231 `attr-char`: token characters other than `*`, `'` and `%`.
    private static func isAttributeCharacter(_ byte: UInt8) -> Bool {
        ContentTypes.isTokenCharacter(byte) && byte != UInt8(ascii: "*") && byte != UInt8(ascii: "'")
            && byte != UInt8(ascii: "%")
    }

    private static func percentEncodedSegments(_ value: String) -> [String] {
        var segments: [String] = []
        var current: [UInt8] = []
        for character in value {
            var encoded: [UInt8] = []
            for byte in character.utf8 {
                if isAttributeCharacter(byte) {
                    encoded.append(byte)
                } else {
                    encoded += [UInt8(ascii: "%"), HexDigits.upper[Int(byte >> 4)], HexDigits.upper[Int(byte & 0x0F)]]
                }
            }
            if !current.isEmpty && current.count + encoded.count > continuationPayload {
                segments.append(String(decoding: current, as: UTF8.self))
                current = []
            }
            current += encoded
        }
        if !current.isEmpty || segments.isEmpty { segments.append(String(decoding: current, as: UTF8.self)) }
        return segments
    }
}
