/// The Unicode scalars that give an address list its structure, named once.
///
/// The list parser (``MailboxAddress/parseList(_:field:)``) splits, quotes and brackets on exactly
/// these constants, and ``structuralScalars`` — what a value inserted into an address field among
/// other text may not contain — is built from the same constants, so the guard and the parser
/// agree by construction: no scalar can split a list for one and not for the other. Both compare
/// scalars, never `Character`s: `","` followed by a combining mark is one grapheme cluster that is
/// not `","`, yet still a comma to anything that reads the list.
public enum AddressListSyntax {
    /// Separates mailboxes.
    public static let separator: Unicode.Scalar = ","
    /// Opens and closes a quoted display name (inside it, a separator is text).
    public static let quote: Unicode.Scalar = "\""
    /// Inside quotes, makes the next scalar text.
    public static let escape: Unicode.Scalar = "\\"
    /// Opens the address after a display name.
    public static let openAddress: Unicode.Scalar = "<"
    /// Closes it.
    public static let closeAddress: Unicode.Scalar = ">"
    /// Ends an RFC 5322 group (refused by our parser, a separator to others).
    public static let groupEnd: Unicode.Scalar = ";"
    /// Starts an RFC 5322 group (refused by our parser).
    public static let groupStart: Unicode.Scalar = ":"

    /// Everything a value inserted into an address field may not carry: the scalars above and the
    /// line breaks and NUL that end a header line.
    public static let structuralScalars: Set<Unicode.Scalar> = [
        separator, quote, escape, openAddress, closeAddress, groupEnd, groupStart, "\r", "\n", "\0",
    ]
}
