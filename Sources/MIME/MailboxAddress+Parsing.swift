// MARK: - Strict address grammar
//
// A deliberately small subset of RFC 5322 section 3.4, the part real senders use:
//
//     list    = mailbox *("," mailbox)           ; empty items between commas are skipped
//     mailbox = addr-spec / [display-name] "<" addr-spec ">"
//     display = quoted-string / phrase           ; phrase: words of atext, ".", non-ASCII
//     addr-spec = dot-atom "@" domain            ; local part may be UTF-8 (RFC 6531)
//
// Everything else the RFC allows is refused with the field named, because each is a classic way to
// make two parsers disagree about who receives a message: comments "(…)", groups "name: …;",
// quoted local parts, domain literals, and any "<" or ">" outside the one pair around the address.

extension MailboxAddress {
    /// Longest local part in octets (RFC 5321 section 4.5.3.1.1).
    static let maximumLocalPartOctets = 64
    /// Longest address in octets (RFC 5321 path limit of 256, less the angle brackets).
    static let maximumAddressOctets = 254

    /// Parses a comma-separated list; a display name in double quotes may contain commas.
    ///
    /// - Parameter field: the parameter name used in errors, e.g. `to`.
    /// - Returns: the mailboxes in order; empty when the text holds only blanks and commas.
    public static func parseList(_ text: String, field: String) throws(EmailValidationError) -> [MailboxAddress] {
        if EmailRules.containsForbiddenCharacters(text) {
            throw .forbiddenCharacters(field)
        }
        if let scalar = text.unicodeScalars.first(where: DeceptiveScalars.isDeceptiveInText) {
            throw .invalidAddress(
                field, "\(DeceptiveScalars.describe(scalar)) is not allowed: control, invisible and direction-changing characters can disguise an address")
        }
        var mailboxes: [MailboxAddress] = []
        for item in try splitList(text, field: field) {
            let trimmed = trimBlanks(item)
            if trimmed.isEmpty { continue }
            mailboxes.append(try parseMailbox(trimmed, field: field))
        }
        return mailboxes
    }

    /// Parses a field that takes at most one mailbox (From, Reply-To).
    ///
    /// - Returns: `nil` when the text is blank.
    public static func parseSingle(
        _ text: String, field: String, ruleMessage: String
    ) throws(EmailValidationError) -> MailboxAddress? {
        let list = try parseList(text, field: field)
        guard list.count <= 1 else {
            throw EmailValidationError(field: field, rule: .singleAddressRequired, message: ruleMessage)
        }
        return list.first
    }

    // MARK: Splitting

    /// Splits at commas outside double quotes; a backslash inside quotes escapes the next character.
    private static func splitList(_ text: String, field: String) throws(EmailValidationError) -> [Substring.UnicodeScalarView] {
        let scalars = text.unicodeScalars
        var items: [Substring.UnicodeScalarView] = []
        var start = scalars.startIndex
        var index = scalars.startIndex
        var inQuotes = false
        while index < scalars.endIndex {
            let scalar = scalars[index]
            if inQuotes && scalar == AddressListSyntax.escape {
                index = scalars.index(after: index)
                guard index < scalars.endIndex else { break }
            } else if scalar == AddressListSyntax.quote {
                inQuotes.toggle()
            } else if scalar == AddressListSyntax.separator && !inQuotes {
                items.append(scalars[start..<index])
                start = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        if inQuotes {
            throw .invalidAddress(field, "a quoted display name is not closed")
        }
        items.append(scalars[start..<scalars.endIndex])
        return items
    }

    // MARK: Mailbox

    private static func parseMailbox(_ item: Substring.UnicodeScalarView, field: String) throws(EmailValidationError) -> MailboxAddress {
        let opens = item.indices.filter { item[$0] == AddressListSyntax.openAddress }
        let closes = item.indices.filter { item[$0] == AddressListSyntax.closeAddress }
        if opens.isEmpty && closes.isEmpty {
            let (local, domain) = try parseAddressSpec(item, field: field)
            return MailboxAddress(displayName: nil, localPart: local, domain: domain)
        }
        guard opens.count == 1, closes.count == 1, let open = opens.first, let close = closes.first,
            open < close, item.index(after: close) == item.endIndex
        else {
            throw .invalidAddress(field, "\"<\" and \">\" may only enclose the address, once")
        }
        let display = trimBlanks(item[item.startIndex..<open])
        let spec = item[item.index(after: open)..<close]
        let name = try parseDisplayName(display, field: field)
        let (local, domain) = try parseAddressSpec(spec, field: field)
        return MailboxAddress(displayName: name, localPart: local, domain: domain)
    }

    private static func parseDisplayName(_ text: Substring.UnicodeScalarView, field: String) throws(EmailValidationError) -> String? {
        if text.isEmpty { return nil }
        if text.first == AddressListSyntax.quote {
            var result = String.UnicodeScalarView()
            var index = text.index(after: text.startIndex)
            while index < text.endIndex {
                let scalar = text[index]
                if scalar == AddressListSyntax.escape {
                    index = text.index(after: index)
                    guard index < text.endIndex else { break }
                    result.append(text[index])
                } else if scalar == AddressListSyntax.quote {
                    guard text.index(after: index) == text.endIndex else {
                        throw .invalidAddress(field, "text after a quoted display name")
                    }
                    return String(result)
                } else {
                    result.append(scalar)
                }
                index = text.index(after: index)
            }
            throw .invalidAddress(field, "a quoted display name is not closed")
        }
        for scalar in text {
            switch scalar {
            case "(", ")":
                throw .invalidAddress(field, "comments are not allowed")
            case ":", ";":
                throw .invalidAddress(field, "groups are not allowed")
            case "\"":
                throw .invalidAddress(field, "a quote must enclose the whole display name")
            case "@", ",", "[", "]", "\\":
                throw .invalidAddress(field, "a display name with \"\(scalar)\" must be in double quotes")
            default:
                continue
            }
        }
        return String(Substring(text))
    }

    // MARK: addr-spec

    private static func parseAddressSpec(_ text: Substring.UnicodeScalarView, field: String) throws(EmailValidationError) -> (String, String) {
        if text.isEmpty { throw .invalidAddress(field, "the address is empty") }
        // Report the construct the user wrote (a comment, a group…) before any incidental space:
        // one pass notes which constructs appear, the first in this order is reported.
        var seen: UInt8 = 0
        for scalar in text {
            switch scalar {
            case "(", ")": seen |= 1 << 0
            case ":", ";": seen |= 1 << 1
            case "\"": seen |= 1 << 2
            case "[", "]": seen |= 1 << 3
            case " ", "\t": seen |= 1 << 4
            default: continue
            }
        }
        if seen != 0 {
            let reasons = ["comments are not allowed", "groups are not allowed", "quoted local parts are not allowed",
                           "address literals are not allowed", "an address may not contain spaces"]
            throw .invalidAddress(field, reasons[seen.trailingZeroBitCount])
        }
        if let scalar = text.first(where: DeceptiveScalars.isDeceptiveInAddress) {
            throw .invalidAddress(
                field, "\(DeceptiveScalars.describe(scalar)) is not allowed in an address: it would be sent but not seen")
        }
        let ats = text.indices.filter { text[$0] == "@" }
        guard ats.count == 1, let at = ats.first else {
            throw .invalidAddress(field, ats.isEmpty ? "an address needs an \"@\"" : "an address has exactly one \"@\"")
        }
        let local = String(Substring(text[text.startIndex..<at]))
        let domainText = String(Substring(text[text.index(after: at)...]))
        try validateLocalPart(local, field: field)
        guard !domainText.isEmpty else { throw .invalidAddress(field, "the domain is missing") }
        let domain: String
        do {
            domain = try IDNA.toASCII(domainText)
        } catch {
            throw .invalidAddress(field, error.reason)
        }
        guard local.utf8.count + 1 + domain.utf8.count <= maximumAddressOctets else {
            throw .invalidAddress(field, "an address is longer than \(maximumAddressOctets) octets")
        }
        return (local, domain)
    }

    private static func validateLocalPart(_ local: String, field: String) throws(EmailValidationError) {
        guard !local.isEmpty else { throw .invalidAddress(field, "the local part is empty") }
        guard local.utf8.count <= maximumLocalPartOctets else {
            throw .invalidAddress(field, "the local part is longer than \(maximumLocalPartOctets) octets")
        }
        guard local.first != ".", local.last != ".", !local.contains("..") else {
            throw .invalidAddress(field, "dots may not start, end or repeat in the local part")
        }
        for scalar in local.unicodeScalars where scalar.isASCII {
            guard isAtext(scalar) || scalar == "." else {
                throw .invalidAddress(field, "the local part may not contain \"\(scalar)\"")
            }
        }
    }

    // MARK: Character classes

    /// RFC 5322 `atext`: letters, digits and ``!#$%&'*+-/=?^_`{|}~``.
    static func isAtext(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", "/", "=", "?", "^", "_", "`", "{", "|", "}", "~": true
        default: false
        }
    }

    private static func trimBlanks(_ text: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView {
        var start = text.startIndex
        var end = text.endIndex
        while start < end, text[start] == " " || text[start] == "\t" { start = text.index(after: start) }
        while end > start, text[text.index(before: end)] == " " || text[text.index(before: end)] == "\t" {
            end = text.index(before: end)
        }
        return text[start..<end]
    }
}
