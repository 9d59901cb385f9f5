// MARK: - Quoting untrusted text for messages
//
// Host names and ranges in errors come from configuration or from a workflow's input, so they may
// hold anything: a CR LF that forges a second log line, terminal escapes, bidirectional overrides,
// or a megabyte of text. Messages show them in double quotes with every byte outside printable ASCII
// escaped, cut to a readable length.

extension String {
    /// How many characters of untrusted text a message shows before eliding the rest.
    static let maximumDisplayedLength = 100

    /// The text in double quotes, printable ASCII kept, `"` and `\` backslash-escaped, everything
    /// else as `\u{…}`, and anything beyond ``maximumDisplayedLength`` scalars replaced by `…`.
    var displayQuoted: String {
        var result = "\""
        for (count, scalar) in unicodeScalars.enumerated() {
            if count == Self.maximumDisplayedLength {
                result += "…"
                break
            }
            switch scalar.value {
            case 0x22, 0x5C:
                result += "\\" + String(scalar)
            case 0x20...0x7E:
                result.unicodeScalars.append(scalar)
            default:
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            }
        }
        return result + "\""
    }
}
