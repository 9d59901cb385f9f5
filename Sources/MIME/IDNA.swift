import Foundation

/// Converts domain names between Unicode and ASCII (A-label) form, following UTS #46 non-transitional
/// processing as far as the mapping needs of email domains go.
///
/// ``toASCII(_:)`` is what the address parser runs on every domain before it reaches an SMTP envelope or a
/// header: `bücher.example` becomes `xn--bcher-kva.example`, `EXAMPLE.com` becomes `example.com`, and
/// anything that is not a usable host name is refused with an ``IDNAError`` naming the rule it breaks.
///
/// The processing is UTS #46 section 4 with these deliberate simplifications:
/// - Mapping (section 4 step 1) is Unicode lowercasing plus NFKC and the removal of the invisible code
///   points the mapping table marks `ignored`, rather than the full IdnaMappingTable.
/// - Validity (section 4.1 criterion 6) is approximated by general category: letters, marks, decimal
///   digits and `-` only (RFC 5892 section 2.1), which also refuses the symbols and emoji that IDNA2008
///   disallows even where UTS #46 would let them through.
/// - ZERO WIDTH JOINER and NON-JOINER are refused outright instead of checking the CONTEXTJ rules of
///   RFC 5892 appendix A; both are invisible, so accepting them would allow look-alike domains.
/// - The Bidi rule (RFC 5893) is not checked.
/// - Hyphen placement (CheckHyphens) and the STD3 letter-digit-hyphen rule are always enforced, and a
///   trailing root dot is refused, because a mail domain is a host name and the `Domain` grammar of
///   RFC 5321 section 4.1.2 has no room for one.
public enum IDNA {
    // MARK: Limits

    /// A label's maximum length in octets (RFC 1035 section 2.3.4).
    static let maximumLabelLength = 63

    /// A domain's maximum length in octets as text: 255 octets in wire form is 253 characters without
    /// the trailing dot (RFC 1035 section 2.3.4, RFC 5321 section 4.5.3.1.2).
    static let maximumDomainLength = 253

    /// The ACE prefix that marks a Punycode-encoded label, matched case-insensitively (RFC 3490 section 5).
    static let acePrefix = "xn--"

    // MARK: Conversions

    /// Converts a domain to lowercase ASCII, encoding each label that is not ASCII as an A-label.
    ///
    /// The full stop and its ideographic, full-width and half-width forms (U+3002, U+FF0E, U+FF61)
    /// separate labels. Labels already in `xn--` form are accepted only when they decode to a valid label
    /// that encodes back to exactly the same text.
    ///
    /// - Parameter domain: A domain as a user typed it, such as `Bücher.example` or `例え。テスト`.
    /// - Returns: The domain in lowercase ASCII, such as `xn--bcher-kva.example`.
    /// - Throws: ``IDNAError`` naming the rule the domain breaks.
    public static func toASCII(_ domain: String) throws(IDNAError) -> String {
        guard !domain.isEmpty else { throw .emptyDomain }
        let labels = splitLabels(domain)
        // A root dot is a DNS detail the RFC 5321 section 4.1.2 `Domain` grammar does not allow.
        if labels.count > 1, labels.last?.isEmpty == true { throw .trailingDot }

        var asciiLabels: [String] = []
        asciiLabels.reserveCapacity(labels.count)
        for label in labels {
            asciiLabels.append(try asciiLabel(for: mapped(label)))
        }

        let result = asciiLabels.joined(separator: ".")
        guard result.utf8.count <= maximumDomainLength else { throw .domainTooLong }
        return result
    }

    /// Converts a domain to Unicode for display, decoding each `xn--` label.
    ///
    /// Labels without the ACE prefix are returned unchanged; label separators become `.`.
    ///
    /// - Parameter domain: A domain such as `xn--bcher-kva.example`.
    /// - Returns: The Unicode form such as `bücher.example`, or `nil` if an `xn--` label is not a valid
    ///   A-label by the same rules ``toASCII(_:)`` applies.
    public static func toUnicode(_ domain: String) -> String? {
        var unicodeLabels: [String] = []
        for label in splitLabels(domain) {
            let text = String(label)
            let folded = text.lowercased()
            guard folded.hasPrefix(acePrefix), folded.utf8.allSatisfy({ $0 < 0x80 }) else {
                unicodeLabels.append(text)
                continue
            }
            guard let decoded = try? unicodeScalars(ofALabel: folded) else { return nil }
            unicodeLabels.append(String(String.UnicodeScalarView(decoded)))
        }
        return unicodeLabels.joined(separator: ".")
    }

    // MARK: Label separators and mapping (UTS #46 section 4 steps 1–3)

    /// Splits at U+002E and the three other full stops UTS #46 section 2.3 treats as label separators.
    ///
    /// Splitting happens before NFKC, not after as in UTS #46, so that a character whose compatibility
    /// form contains a full stop (U+2488 "⒈" is "1.", U+FE52 is ".") cannot invent a label boundary
    /// the user never typed; such characters are refused as disallowed instead, as UTS #46 does too.
    private static func splitLabels(_ domain: String) -> [Substring.UnicodeScalarView] {
        domain.unicodeScalars.split(omittingEmptySubsequences: false) { scalar in
            switch scalar.value {
            case 0x2E, 0x3002, 0xFF0E, 0xFF61: true
            default: false
            }
        }
    }

    /// Maps one label the way UTS #46 section 4 step 1 (non-transitional) and step 2 (normalise) do,
    /// within the simplifications listed on ``IDNA``.
    ///
    /// UTS #46 maps with NFKC_Casefold; lowercasing then NFKC comes close, but NFKC can produce capitals
    /// (U+210C "ℌ", which has no lowercase form, becomes "H"), so the pair runs twice. Lowercasing works
    /// code point by code point, so `Σ` always becomes `σ`, as in the mapping table, while the deviation
    /// characters keep their non-transitional meaning: `ß` and `ς` stay as they are.
    static func mapped(_ label: some Sequence<Unicode.Scalar>) -> [Unicode.Scalar] {
        var kept = String.UnicodeScalarView()
        var isASCII = true
        for scalar in label where !isIgnored(scalar) {
            kept.append(scalar)
            isASCII = isASCII && scalar.isASCII
        }
        if isASCII {
            // NFKC leaves ASCII alone, so skip Foundation for the common case.
            return kept.map { scalar in
                (0x41...0x5A).contains(scalar.value) ? Unicode.Scalar(UInt8(scalar.value) + 0x20) : scalar
            }
        }
        var text = String(kept)
        for _ in 0..<2 {
            text = text.lowercased().precomposedStringWithCompatibilityMapping
        }
        return Array(text.unicodeScalars)
    }

    /// Invisible code points UTS #46's mapping table marks `ignored`: they are dropped, not refused,
    /// because they turn up in text pasted from documents and change nothing a reader can see.
    private static func isIgnored(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00AD,  // SOFT HYPHEN
            0x034F,  // COMBINING GRAPHEME JOINER
            0x180B...0x180D,  // MONGOLIAN FREE VARIATION SELECTORs
            0x200B,  // ZERO WIDTH SPACE
            0x2060,  // WORD JOINER
            0xFE00...0xFE0F,  // VARIATION SELECTORs
            0xFEFF,  // ZERO WIDTH NO-BREAK SPACE (byte order mark)
            0x1BCA0...0x1BCA3,  // SHORTHAND FORMAT controls
            0xE0100...0xE01EF:  // VARIATION SELECTOR SUPPLEMENT
            true
        default:
            false
        }
    }

    // MARK: Per-label conversion (UTS #46 section 4 step 4, section 4.1)

    /// Validates one mapped label and returns its ASCII form: the label itself when it is ASCII, otherwise
    /// `xn--` followed by its Punycode encoding.
    private static func asciiLabel(for label: [Unicode.Scalar]) throws(IDNAError) -> String {
        guard !label.isEmpty else { throw .emptyLabel }
        // Checked before encoding as well as after: an A-label spends at least one octet per code point,
        // so a longer label can never fit, and the cap keeps Punycode's quadratic loop small.
        guard label.count <= maximumLabelLength else { throw .labelTooLong }

        if label.allSatisfy(\.isASCII) {
            let text = String(String.UnicodeScalarView(label))
            guard label.allSatisfy(isLetterDigitHyphen) else { throw .disallowedCharacter }
            if text.hasPrefix(acePrefix) {
                _ = try unicodeScalars(ofALabel: text)
            } else {
                try checkHyphens(label)
            }
            return text
        }

        try checkUnicodeLabel(label)
        guard let encoded = Punycode.encode(label) else { throw .invalidPunycode }
        let aLabel = acePrefix + encoded
        guard aLabel.utf8.count <= maximumLabelLength else { throw .labelTooLong }
        return aLabel
    }

    /// Decodes an `xn--` label (lowercase ASCII) and checks it the way UTS #46 section 4 step 4 does.
    ///
    /// The decoded label must contain a non-ASCII code point (an A-label for plain ASCII would be a second
    /// spelling of the same name), must already be in mapped and normalised form, must pass the same
    /// validity checks as a typed label, and must re-encode to exactly the same text. The last check
    /// rejects every alternative spelling, so one domain has only one A-label form.
    static func unicodeScalars(ofALabel label: String) throws(IDNAError) -> [Unicode.Scalar] {
        guard label.utf8.count <= maximumLabelLength else { throw .labelTooLong }
        let payload = label.dropFirst(acePrefix.count)
        guard
            let decoded = Punycode.decode(payload),
            decoded.contains(where: { !$0.isASCII }),
            mapped(decoded) == decoded,
            Punycode.encode(decoded) == String(payload)
        else { throw .invalidPunycode }
        try checkUnicodeLabel(decoded)
        return decoded
    }

    // MARK: Validity criteria (UTS #46 section 4.1)

    /// Checks a mapped label that contains non-ASCII code points (criteria 2, 3, 5 and 6).
    private static func checkUnicodeLabel(_ label: [Unicode.Scalar]) throws(IDNAError) {
        if label.contains(where: { $0.value == 0x200C || $0.value == 0x200D }) { throw .joiner }
        if let first = label.first, isMark(first) { throw .leadingCombiningMark }
        guard label.allSatisfy({ $0 == "-" || isLetterMarkOrDigit($0) }) else { throw .disallowedCharacter }
        // Also refuses a Unicode label that starts with "xn--" (criterion 4): its third and fourth
        // characters are hyphens.
        try checkHyphens(label)
    }

    /// CheckHyphens (criteria 2 and 3): no hyphen at either end, and none in both the third and fourth
    /// positions, which RFC 5891 section 4.2.3.1 reserves for prefixes such as `xn--`.
    private static func checkHyphens(_ label: [Unicode.Scalar]) throws(IDNAError) {
        if label.first == "-" || label.last == "-" { throw .hyphenAtEdge }
        if label.count >= 4, label[2] == "-", label[3] == "-" { throw .hyphensInThirdAndFourthPositions }
    }

    /// The STD3 rule for ASCII labels: letters, digits and hyphen only (RFC 1123 section 2.1). Labels
    /// reach this check already lowercased.
    private static func isLetterDigitHyphen(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "0"..."9", "-": true
        default: false
        }
    }

    private static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
        }
    }

    /// Letters, non-enclosing marks and decimal digits (Ll, Lu, Lo, Lm, Mn, Mc, Nd): the LetterDigits
    /// categories IDNA2008 builds its PVALID set from (RFC 5892 section 2.1). Titlecase letters never get
    /// here because mapping lowercases them; enclosing marks such as U+20DD are not valid in IDNA2008;
    /// unassigned and private-use code points fall outside every listed category and are refused.
    private static func isLetterMarkOrDigit(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .lowercaseLetter, .uppercaseLetter, .otherLetter, .modifierLetter,
            .nonspacingMark, .spacingMark, .decimalNumber:
            true
        default:
            false
        }
    }
}

// MARK: - Errors

/// Why a domain name could not be converted to ASCII.
///
/// ``reason`` names the rule the domain breaks and never quotes the domain itself, so the error is safe to
/// log and to show next to the field a user filled in.
public struct IDNAError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A short, human-readable statement of the rule that failed, such as "domain label is empty".
    public var reason: String

    /// The same text as ``reason``.
    public var description: String { reason }
}

// One error per rule, so tests and callers compare errors rather than strings.
extension IDNAError {
    static let emptyDomain = IDNAError(reason: "domain is empty")
    static let trailingDot = IDNAError(reason: "domain ends with a dot")
    static let emptyLabel = IDNAError(reason: "domain label is empty")
    static let labelTooLong = IDNAError(reason: "domain label is longer than 63 characters")
    static let domainTooLong = IDNAError(reason: "domain is longer than 253 characters")
    static let disallowedCharacter = IDNAError(
        reason: "domain label contains a character not allowed in domain names"
    )
    static let joiner = IDNAError(reason: "domain label contains an invisible zero-width joiner or non-joiner")
    static let leadingCombiningMark = IDNAError(reason: "domain label starts with a combining mark")
    static let hyphenAtEdge = IDNAError(reason: "domain label starts or ends with a hyphen")
    static let hyphensInThirdAndFourthPositions = IDNAError(
        reason: "domain label has hyphens in the third and fourth positions"
    )
    static let invalidPunycode = IDNAError(reason: "domain label has an invalid punycode (xn--) form")
}
