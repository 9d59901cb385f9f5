/// Characters that change how text looks, or hide part of it, without being seen: controls (C0,
/// C1 such as U+0085, DEL), format characters (the bidi embeddings, overrides and isolates such as
/// U+202E, zero-width spaces and joiners, the soft hyphen, the byte order mark), line and paragraph
/// separators, private-use and unassigned code points, and every other default-ignorable code point.
///
/// In an address they make two strings that look alike deliver to different mailboxes
/// (`a\u{200B}@example.com`), or make one look like another (`moc.elpmaxe@\u{202E}…`): addresses
/// refuse them. In a file name they disguise the real extension (`invoice\u{202E}fdp.exe` shows
/// as `invoiceexe.pdf`): file names get `_` in their place.
enum DeceptiveScalars {
    /// Whether `scalar` is deceptive anywhere.
    static func isDeceptive(_ scalar: Unicode.Scalar) -> Bool {
        // ASCII has no format, separator, private-use or default-ignorable scalars: only the
        // controls. Most text is ASCII, and the property lookups below are table searches.
        if scalar.isASCII { return scalar.value < 0x20 || scalar.value == 0x7F }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .unassigned, .surrogate:
            return true
        default:
            return properties.isDefaultIgnorableCodePoint
        }
    }

    /// Whether `scalar` is deceptive in a display name or a file name, where tab (folding white
    /// space in a name), the zero-width joiner and the emoji presentation selectors (U+FE0E,
    /// U+FE0F) have honest uses: emoji sequences such as 👩‍💻. They join or style the pictures
    /// beside them; they cannot reorder or hide text.
    static func isDeceptiveInText(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x200D, 0xFE0E, 0xFE0F: false
        default: isDeceptive(scalar)
        }
    }

    /// Whether `scalar` is deceptive in an address (local part or domain): anything above, and any
    /// space other than the plain space (reported separately) such as U+00A0 or U+3000.
    static func isDeceptiveInAddress(_ scalar: Unicode.Scalar) -> Bool {
        isDeceptive(scalar) || (scalar.value > 0x7F && scalar.properties.generalCategory == .spaceSeparator)
    }

    /// `U+202E RIGHT-TO-LEFT OVERRIDE`, for error messages that must show what cannot be seen.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        var hex = String(scalar.value, radix: 16, uppercase: true)
        while hex.count < 4 { hex = "0" + hex }
        let name = scalar.properties.name ?? scalar.properties.nameAlias
        return "U+\(hex)" + (name.map { " \($0)" } ?? "")
    }

    /// `text` with every scalar deceptive in text (``isDeceptiveInText(_:)``) replaced by `_`.
    static func neutralized(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isDeceptiveInText) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { scalars.append(isDeceptiveInText(scalar) ? "_" : scalar) }
        return String(scalars)
    }
}
