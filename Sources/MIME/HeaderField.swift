// MARK: - Folding
//
// RFC 5322 section 2.2.3: a header line may be folded by inserting CRLF before any whitespace, and
// section 2.1.1 asks for lines of at most 78 characters, never more than 998. A field is built from
// "atoms" that must not be split (a word, an encoded-word, `<addr>,`); between two atoms there is a
// single space where the folder may break the line. Unfolding (removing each CRLF) gives back the
// value with its single spaces, so folding never changes what a reader decodes.

/// A header field under construction: its name and the atoms of its value.
struct HeaderField {
    /// The soft limit on line length in octets (RFC 5322 section 2.1.1).
    static let preferredLineLength = 78
    /// The hard limit on line length in octets, excluding CRLF.
    static let maximumLineLength = 998

    let name: String
    var atoms: [Atom] = []

    /// One unbreakable piece of a value.
    struct Atom {
        var text: String
        /// Whether a space separates this atom from the previous one (a place to fold). The first
        /// atom always follows `Name: `.
        var spaceBefore: Bool
    }

    init(name: String) {
        self.name = name
    }

    init(name: String, value: String) {
        self.name = name
        if !value.isEmpty { atoms.append(Atom(text: value, spaceBefore: true)) }
    }

    mutating func append(_ text: String, spaceBefore: Bool = true) {
        atoms.append(Atom(text: text, spaceBefore: spaceBefore))
    }

    /// The folded field with its CRLF: greedy, breaking before an atom that would overflow the
    /// preferred length. An atom longer than a whole line stays on one line (up to 998 octets; the
    /// encoders keep their atoms far below that).
    func render() -> String {
        var output = name + ":"
        var column = output.utf8.count
        for atom in atoms {
            let width = atom.text.utf8.count
            if !atom.spaceBefore {
                output += atom.text
                column += width
            } else if column + 1 + width > Self.preferredLineLength && column > name.utf8.count + 1 {
                output += "\r\n " + atom.text
                column = 1 + width
            } else {
                output += " " + atom.text
                column += 1 + width
            }
        }
        return output + "\r\n"
    }

    /// Space left on the first line after `Name: `.
    var firstLineCapacity: Int { Self.preferredLineLength - name.utf8.count - 2 }
}

// MARK: - Unstructured text (Subject, custom header values)

extension HeaderField {
    /// A field whose value is free text. Plain ASCII words separated by single spaces are written
    /// as they are; anything else (non-ASCII, control characters, leading, trailing or repeated
    /// whitespace, text that looks like an encoded-word, a word too long to fit a line) becomes
    /// RFC 2047 encoded-words, which preserve every character exactly.
    static func unstructured(name: String, value: String) -> HeaderField {
        var field = HeaderField(name: name)
        if value.isEmpty { return field }
        if let words = plainWords(value, longestWord: maximumLineLength - name.utf8.count - 3) {
            for word in words { field.append(word) }
        } else {
            for word in EncodedWord.encode(value, firstCapacity: field.firstLineCapacity) {
                field.append(word)
            }
        }
        return field
    }

    /// The words of `value` if it can be written without encoding, else `nil`.
    private static func plainWords(_ value: String, longestWord: Int) -> [String]? {
        guard value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }),
            !value.hasPrefix(" "), !value.hasSuffix(" "), !value.contains("  "), !value.contains("=?")
        else { return nil }
        let words = value.split(separator: " ").map(String.init)
        guard words.allSatisfy({ $0.utf8.count <= longestWord }) else { return nil }
        return words
    }
}

// MARK: - Addresses

extension HeaderField {
    /// An address-list field: display names written as atoms, quoted strings or encoded-words,
    /// each mailbox followed by a comma except the last, with folding between mailboxes.
    static func addresses(name: String, _ mailboxes: [MailboxAddress]) -> HeaderField {
        var field = HeaderField(name: name)
        for (index, mailbox) in mailboxes.enumerated() {
            let separator = index == mailboxes.count - 1 ? "" : ","
            guard let displayName = mailbox.displayName, !displayName.isEmpty else {
                field.append(mailbox.addressSpec + separator)
                continue
            }
            for word in displayNameWords(displayName, firstCapacity: field.atoms.isEmpty ? field.firstLineCapacity : 75) {
                field.append(word)
            }
            field.append("<" + mailbox.addressSpec + ">" + separator)
        }
        return field
    }

    /// A display name as RFC 5322 `phrase` atoms when it is plain atext words, a quoted-string when
    /// it is printable ASCII, else RFC 2047 encoded-words (phrase-safe Q or B).
    static func displayNameWords(_ name: String, firstCapacity: Int) -> [String] {
        let scalars = name.unicodeScalars
        let printableASCII = scalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
        // Text that merely looks like an encoded-word ("=?utf-8?q?Boss?=") must not be sent where a
        // reader would decode it: a display name could otherwise impersonate another sender.
        let looksEncoded = name.contains("=?")
        if printableASCII && !looksEncoded && !name.hasPrefix(" ") && !name.hasSuffix(" ") && !name.contains("  ")
            && name.split(separator: " ").allSatisfy({ $0.unicodeScalars.allSatisfy(MailboxAddress.isAtext) })
            && name.utf8.count < 900
        {
            return name.split(separator: " ").map(String.init)
        }
        if printableASCII && name.utf8.count < 900 && !looksEncoded {
            var quoted = "\""
            for scalar in scalars {
                if scalar == "\"" || scalar == "\\" { quoted.unicodeScalars.append("\\") }
                quoted.unicodeScalars.append(scalar)
            }
            return [quoted + "\""]
        }
        return EncodedWord.encode(name, firstCapacity: firstCapacity)
    }
}
