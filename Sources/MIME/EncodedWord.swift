// MARK: - RFC 2047 encoded-words
//
// `=?utf-8?Q?...?=` or `=?utf-8?B?...?=`, each at most 75 characters (section 2). A long text is
// split into several words separated by folding whitespace, which decoders drop between adjacent
// encoded-words (section 6.2). Each word must hold whole characters (section 5: "each encoded-word
// MUST represent an integral number of characters"), so we split only between grapheme clusters, or
// between Unicode scalars when one cluster alone is too long: never inside a UTF-8 sequence.

enum EncodedWord {
    /// Longest encoded-word (RFC 2047 section 2).
    static let maximumLength = 75
    private static let prefixQ = "=?utf-8?Q?"
    private static let prefixB = "=?utf-8?B?"
    private static let suffix = "?="

    /// Encodes `text` as encoded-words, Q or B for the whole text.
    ///
    /// - Parameter firstCapacity: room on the header's first line, so the first word need not
    ///   force a fold; later words use the full 75 characters.
    static func encode(_ text: String, firstCapacity: Int) -> [String] {
        let bytes = Array(text.utf8)
        // Q when the text is mostly ASCII (as for bodies: at most a third of the bytes escaped), so
        // "José Müller" stays readable in raw headers; B for the rest, where it is shorter.
        let escaped = bytes.filter { qWidth($0) == 3 }.count
        let useQ = escaped * 3 <= bytes.count
        let overhead = prefixQ.utf8.count + suffix.utf8.count
        var capacity = max(min(firstCapacity, maximumLength), overhead + 12) - overhead
        var words: [String] = []
        var pending: [UInt8] = []

        func encodedLength(_ chunk: [UInt8]) -> Int {
            useQ ? chunk.reduce(0) { $0 + qWidth($1) } : (chunk.count + 2) / 3 * 4
        }
        func flush() {
            guard !pending.isEmpty else { return }
            words.append(useQ ? encodeQ(pending) : encodeB(pending))
            pending.removeAll(keepingCapacity: true)
            capacity = maximumLength - overhead
        }
        for character in text {
            let characterBytes = Array(character.utf8)
            if encodedLength(pending + characterBytes) <= capacity {
                pending += characterBytes
                continue
            }
            flush()
            if encodedLength(characterBytes) <= capacity {
                pending = characterBytes
                continue
            }
            // A single grapheme cluster longer than a word: split it between scalars.
            for scalar in character.unicodeScalars {
                let scalarBytes = Array(String(scalar).utf8)
                if encodedLength(pending + scalarBytes) > capacity { flush() }
                pending += scalarBytes
            }
        }
        flush()
        return words
    }

    // MARK: Q encoding (section 4.2)

    /// Characters a Q-encoded word may carry literally. In a phrase only letters, digits and
    /// `!*+-/` are allowed (section 5, rule 3); we use that set everywhere so one word fits both.
    private static func isQLiteral(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    private static func qWidth(_ byte: UInt8) -> Int {
        byte == UInt8(ascii: " ") || isQLiteral(byte) ? 1 : 3
    }

    private static func encodeQ(_ bytes: [UInt8]) -> String {
        var output = Array(prefixQ.utf8)
        for byte in bytes {
            if byte == UInt8(ascii: " ") {
                output.append(UInt8(ascii: "_"))
            } else if isQLiteral(byte) {
                output.append(byte)
            } else {
                output.append(UInt8(ascii: "="))
                output.append(HexDigits.upper[Int(byte >> 4)])
                output.append(HexDigits.upper[Int(byte & 0x0F)])
            }
        }
        output += suffix.utf8
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: B encoding (section 4.1)

    private static func encodeB(_ bytes: [UInt8]) -> String {
        var output = Array(prefixB.utf8)
        Base64.encode(bytes[...], into: &output)
        output += suffix.utf8
        return String(decoding: output, as: UTF8.self)
    }
}

/// Upper-case hexadecimal digits as ASCII bytes.
enum HexDigits {
    static let upper: [UInt8] = Array("0123456789ABCDEF".utf8)
}
