import Testing

@testable import MIME

// MARK: - Punycode (RFC 3492)

@Suite("Punycode (RFC 3492)")
struct PunycodeTests {
    /// One sample string from RFC 3492 section 7.1: the code points and their Punycode form.
    ///
    /// The RFC prints some encodings with mixed-case annotations (appendix A); `encoded` holds what an
    /// encoder without annotations produces, which differs only in the case of the Russian sample's "d".
    struct Sample: CustomTestStringConvertible, Sendable {
        let name: String
        let codePoints: [UInt32]
        let encoded: String

        var scalars: [Unicode.Scalar] { codePoints.map { Unicode.Scalar($0)! } }
        var testDescription: String { name }
    }

    static let samples: [Sample] = [
        Sample(
            name: "(A) Arabic (Egyptian)",
            codePoints: [
                0x0644, 0x064A, 0x0647, 0x0645, 0x0627, 0x0628, 0x062A, 0x0643, 0x0644,
                0x0645, 0x0648, 0x0634, 0x0639, 0x0631, 0x0628, 0x064A, 0x061F,
            ],
            encoded: "egbpdaj6bu4bxfgehfvwxn"
        ),
        Sample(
            name: "(B) Chinese (simplified)",
            codePoints: [0x4ED6, 0x4EEC, 0x4E3A, 0x4EC0, 0x4E48, 0x4E0D, 0x8BF4, 0x4E2D, 0x6587],
            encoded: "ihqwcrb4cv8a8dqg056pqjye"
        ),
        Sample(
            name: "(C) Chinese (traditional)",
            codePoints: [0x4ED6, 0x5011, 0x7232, 0x4EC0, 0x9EBD, 0x4E0D, 0x8AAA, 0x4E2D, 0x6587],
            encoded: "ihqwctvzc91f659drss3x8bo0yb"
        ),
        Sample(
            name: "(D) Czech",
            codePoints: [
                0x0050, 0x0072, 0x006F, 0x010D, 0x0070, 0x0072, 0x006F, 0x0073, 0x0074,
                0x011B, 0x006E, 0x0065, 0x006D, 0x006C, 0x0075, 0x0076, 0x00ED, 0x010D,
                0x0065, 0x0073, 0x006B, 0x0079,
            ],
            encoded: "Proprostnemluvesky-uyb24dma41a"
        ),
        Sample(
            name: "(E) Hebrew",
            codePoints: [
                0x05DC, 0x05DE, 0x05D4, 0x05D4, 0x05DD, 0x05E4, 0x05E9, 0x05D5, 0x05D8,
                0x05DC, 0x05D0, 0x05DE, 0x05D3, 0x05D1, 0x05E8, 0x05D9, 0x05DD, 0x05E2,
                0x05D1, 0x05E8, 0x05D9, 0x05EA,
            ],
            encoded: "4dbcagdahymbxekheh6e0a7fei0b"
        ),
        Sample(
            name: "(F) Hindi (Devanagari)",
            codePoints: [
                0x092F, 0x0939, 0x0932, 0x094B, 0x0917, 0x0939, 0x093F, 0x0928, 0x094D,
                0x0926, 0x0940, 0x0915, 0x094D, 0x092F, 0x094B, 0x0902, 0x0928, 0x0939,
                0x0940, 0x0902, 0x092C, 0x094B, 0x0932, 0x0938, 0x0915, 0x0924, 0x0947,
                0x0939, 0x0948, 0x0902,
            ],
            encoded: "i1baa7eci9glrd9b2ae1bj0hfcgg6iyaf8o0a1dig0cd"
        ),
        Sample(
            name: "(G) Japanese (kanji and hiragana)",
            codePoints: [
                0x306A, 0x305C, 0x307F, 0x3093, 0x306A, 0x65E5, 0x672C, 0x8A9E, 0x3092,
                0x8A71, 0x3057, 0x3066, 0x304F, 0x308C, 0x306A, 0x3044, 0x306E, 0x304B,
            ],
            encoded: "n8jok5ay5dzabd5bym9f0cm5685rrjetr6pdxa"
        ),
        Sample(
            name: "(H) Korean (Hangul syllables)",
            codePoints: [
                0xC138, 0xACC4, 0xC758, 0xBAA8, 0xB4E0, 0xC0AC, 0xB78C, 0xB4E4, 0xC774,
                0xD55C, 0xAD6D, 0xC5B4, 0xB97C, 0xC774, 0xD574, 0xD55C, 0xB2E4, 0xBA74,
                0xC5BC, 0xB9C8, 0xB098, 0xC88B, 0xC744, 0xAE4C,
            ],
            encoded: "989aomsvi5e83db1d2a355cv1e0vak1dwrv93d5xbh15a0dt30a5jpsd879ccm6fea98c"
        ),
        Sample(
            name: "(I) Russian (Cyrillic)",
            codePoints: [
                0x043F, 0x043E, 0x0447, 0x0435, 0x043C, 0x0443, 0x0436, 0x0435, 0x043E,
                0x043D, 0x0438, 0x043D, 0x0435, 0x0433, 0x043E, 0x0432, 0x043E, 0x0440,
                0x044F, 0x0442, 0x043F, 0x043E, 0x0440, 0x0443, 0x0441, 0x0441, 0x043A,
                0x0438,
            ],
            encoded: "b1abfaaepdrnnbgefbadotcwatmq2g4l"
        ),
        Sample(
            name: "(J) Spanish",
            codePoints: [
                0x0050, 0x006F, 0x0072, 0x0071, 0x0075, 0x00E9, 0x006E, 0x006F, 0x0070,
                0x0075, 0x0065, 0x0064, 0x0065, 0x006E, 0x0073, 0x0069, 0x006D, 0x0070,
                0x006C, 0x0065, 0x006D, 0x0065, 0x006E, 0x0074, 0x0065, 0x0068, 0x0061,
                0x0062, 0x006C, 0x0061, 0x0072, 0x0065, 0x006E, 0x0045, 0x0073, 0x0070,
                0x0061, 0x00F1, 0x006F, 0x006C,
            ],
            encoded: "PorqunopuedensimplementehablarenEspaol-fmd56a"
        ),
        Sample(
            name: "(K) Vietnamese",
            codePoints: [
                0x0054, 0x1EA1, 0x0069, 0x0073, 0x0061, 0x006F, 0x0068, 0x1ECD, 0x006B,
                0x0068, 0x00F4, 0x006E, 0x0067, 0x0074, 0x0068, 0x1EC3, 0x0063, 0x0068,
                0x1EC9, 0x006E, 0x00F3, 0x0069, 0x0074, 0x0069, 0x1EBF, 0x006E, 0x0067,
                0x0056, 0x0069, 0x1EC7, 0x0074,
            ],
            encoded: "TisaohkhngthchnitingVit-kjcr8268qyxafd2f1b9g"
        ),
        Sample(
            name: "(L) 3年B組金八先生",
            codePoints: [0x0033, 0x5E74, 0x0042, 0x7D44, 0x91D1, 0x516B, 0x5148, 0x751F],
            encoded: "3B-ww4c5e180e575a65lsy2b"
        ),
        Sample(
            name: "(M) 安室奈美恵-with-SUPER-MONKEYS",
            codePoints: [
                0x5B89, 0x5BA4, 0x5948, 0x7F8E, 0x6075, 0x002D, 0x0077, 0x0069, 0x0074,
                0x0068, 0x002D, 0x0053, 0x0055, 0x0050, 0x0045, 0x0052, 0x002D, 0x004D,
                0x004F, 0x004E, 0x004B, 0x0045, 0x0059, 0x0053,
            ],
            encoded: "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n"
        ),
        Sample(
            name: "(N) Hello-Another-Way-それぞれの場所",
            codePoints: [
                0x0048, 0x0065, 0x006C, 0x006C, 0x006F, 0x002D, 0x0041, 0x006E, 0x006F,
                0x0074, 0x0068, 0x0065, 0x0072, 0x002D, 0x0057, 0x0061, 0x0079, 0x002D,
                0x305D, 0x308C, 0x305E, 0x308C, 0x306E, 0x5834, 0x6240,
            ],
            encoded: "Hello-Another-Way--fc4qua05auwb3674vfr0b"
        ),
        Sample(
            name: "(O) ひとつ屋根の下2",
            codePoints: [0x3072, 0x3068, 0x3064, 0x5C4B, 0x6839, 0x306E, 0x4E0B, 0x0032],
            encoded: "2-u9tlzr9756bt3uc0v"
        ),
        Sample(
            name: "(P) MajiでKoiする5秒前",
            codePoints: [
                0x004D, 0x0061, 0x006A, 0x0069, 0x3067, 0x004B, 0x006F, 0x0069, 0x3059,
                0x308B, 0x0035, 0x79D2, 0x524D,
            ],
            encoded: "MajiKoi5-783gue6qz075azm5e"
        ),
        Sample(
            name: "(Q) パフィーdeルンバ",
            codePoints: [0x30D1, 0x30D5, 0x30A3, 0x30FC, 0x0064, 0x0065, 0x30EB, 0x30F3, 0x30D0],
            encoded: "de-jg4avhby1noc0d"
        ),
        Sample(
            name: "(R) そのスピードで",
            codePoints: [0x305D, 0x306E, 0x30B9, 0x30D4, 0x30FC, 0x30C9, 0x3067],
            encoded: "d9juau41awczczp"
        ),
        Sample(
            name: "(S) -> $1.00 <-",
            codePoints: [0x002D, 0x003E, 0x0020, 0x0024, 0x0031, 0x002E, 0x0030, 0x0030, 0x0020, 0x003C, 0x002D],
            encoded: "-> $1.00 <--"
        ),
    ]

    @Test("encodes the RFC 3492 section 7.1 samples", arguments: samples)
    func encodesSample(_ sample: Sample) {
        #expect(Punycode.encode(sample.scalars) == sample.encoded)
    }

    @Test("decodes the RFC 3492 section 7.1 samples", arguments: samples)
    func decodesSample(_ sample: Sample) {
        #expect(Punycode.decode(Substring(sample.encoded)) == sample.scalars)
    }

    @Test("decodes digits in either case, as the RFC's mixed-case annotations need")
    func decodesMixedCaseDigits() {
        // (I) exactly as RFC 3492 prints it, with the uppercase "D" annotation.
        let russian = Self.samples.first { $0.name.hasPrefix("(I)") }
        #expect(russian != nil)
        #expect(Punycode.decode("b1abfaaepdrnnbgefbaDotcwatmq2g4l") == russian?.scalars)
        #expect(Punycode.decode("IHQWCRB4CV8A8DQG056PQJYE") == Punycode.decode("ihqwcrb4cv8a8dqg056pqjye"))
    }

    @Test(
        "refuses invalid encodings",
        arguments: [
            "zz",  // a variable-length integer cut short
            "a-b!",  // "!" is not a digit
            "ü-kva",  // a non-basic code point in the literal portion
            "-abc",  // a leading delimiter copies nothing and then fails as a digit
            "99999999999",  // the variable-length integer overflows 32 bits
            "ib9b",  // decodes to U+D800, a surrogate
            "en32g",  // decodes to U+110000, above the last code point
        ]
    )
    func refusesInvalid(_ encoded: String) {
        #expect(Punycode.decode(Substring(encoded)) == nil)
    }

    @Test("decodes the last code point, U+10FFFF")
    func decodesLastCodePoint() {
        #expect(Punycode.decode("dn32g") == [Unicode.Scalar(0x10FFFF)!])
        #expect(Punycode.encode([Unicode.Scalar(0x10FFFF)!]) == "dn32g")
    }

    @Test("decodes an empty string to no code points")
    func decodesEmpty() {
        #expect(Punycode.decode("") == [])
        #expect(Punycode.encode([]) == "")
    }
}

// MARK: - IDNA (UTS #46)

@Suite("IDNA toASCII and toUnicode (UTS #46)")
struct IDNATests {
    /// Each domain with its expected ASCII form.
    static let conversions: [(String, String)] = [
        ("bücher.example", "xn--bcher-kva.example"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("Bücher.Example", "xn--bcher-kva.example"),
        ("BÜCHER.EXAMPLE", "xn--bcher-kva.example"),
        ("bu\u{0308}cher.example", "xn--bcher-kva.example"),  // decomposed ü is normalised (NFC)
        ("faß.de", "xn--fa-hia.de"),  // non-transitional: ß is kept, not mapped to "ss"
        ("σας.gr", "xn--mxa8ab.gr"),  // non-transitional: final ς is kept, not mapped to σ
        ("ΣΑΣ.gr", "xn--mxa9ab.gr"),  // capital Σ always lowercases to σ
        ("例え。テスト", "xn--r8jz45g.xn--zckzah"),  // U+3002 ideographic full stop
        ("例え．テスト", "xn--r8jz45g.xn--zckzah"),  // U+FF0E full-width full stop
        ("例え｡テスト", "xn--r8jz45g.xn--zckzah"),  // U+FF61 half-width full stop
        ("ｅｘａｍｐｌｅ.com", "example.com"),  // full-width letters map to ASCII (NFKC)
        ("EXAMPLE.com", "example.com"),
        ("example.com", "example.com"),
        ("mail-1.example", "mail-1.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
        ("bü\u{00AD}cher.example", "xn--bcher-kva.example"),  // soft hyphen is ignored
        ("bücher\u{200B}.example", "xn--bcher-kva.example"),  // zero width space is ignored
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
    ]

    @Test("converts domains to ASCII", arguments: conversions)
    func convertsToASCII(_ domain: String, _ expected: String) throws {
        #expect(try IDNA.toASCII(domain) == expected)
    }

    /// Each domain with the rule it breaks. A typed table keeps the `@Test` expansion cheap to type-check.
    static let rejections: [(String, IDNAError)] = [
        ("", .emptyDomain),
        ("a..b", .emptyLabel),
        (".example.com", .emptyLabel),
        ("example.com.", .trailingDot),
        ("\u{00AD}.com", .emptyLabel),  // only an ignored code point
        ("-abc.com", .hyphenAtEdge),
        ("abc-.com", .hyphenAtEdge),
        ("ab--c.com", .hyphensInThirdAndFourthPositions),
        ("xn--zz.com", .invalidPunycode),
        ("xn--.com", .invalidPunycode),
        ("xn--abc-.com", .invalidPunycode),  // decodes to plain ASCII
        ("xn--bucher-xyd.example", .invalidPunycode),  // decodes to a decomposed "ü", not in NFC
        ("xn--bcher-2pa.example", .invalidPunycode),  // decodes to an uppercase "Ü"
        ("xn--ls8h.example", .disallowedCharacter),  // decodes to an emoji
        ("xn--ab-m1t.example", .joiner),  // decodes to "a", ZERO WIDTH JOINER, "b"
        ("xn--bcher-kva-.example", .invalidPunycode),
        (String(repeating: "a", count: 64) + ".com", .labelTooLong),
        (String(repeating: "ü", count: 60) + ".com", .labelTooLong),
        (
            [String](repeating: String(repeating: "a", count: 63), count: 3).joined(separator: ".") + "."
                + String(repeating: "b", count: 62),  // 254 characters
            .domainTooLong
        ),
        ("exa mple.com", .disallowedCharacter),
        ("ex_ample.com", .disallowedCharacter),
        ("ex@mple.com", .disallowedCharacter),
        ("bü_cher.com", .disallowedCharacter),
        ("a\u{2488}com", .disallowedCharacter),  // "⒈" is "1." under NFKC: no label boundary invented
        ("mail☃.example", .disallowedCharacter),  // symbols are not letters
        ("e\u{200D}x.com", .joiner),
        ("e\u{200C}x.com", .joiner),
        ("\u{0301}abc.com", .leadingCombiningMark),
        ("-bücher.example", .hyphenAtEdge),
        ("xn--bücher.example", .hyphensInThirdAndFourthPositions),
    ]

    @Test("refuses domains that break a rule", arguments: rejections)
    func refuses(_ domain: String, _ error: IDNAError) {
        #expect(throws: error) { try IDNA.toASCII(domain) }
    }

    @Test("accepts a 63-character label and a 253-character domain")
    func acceptsLimits() throws {
        let label63 = String(repeating: "a", count: 63)
        #expect(try IDNA.toASCII(label63 + ".com") == label63 + ".com")

        let domain253 = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(domain253.utf8.count == 253)
        #expect(try IDNA.toASCII(domain253) == domain253)
    }

    @Test(
        "round-trips through toUnicode",
        arguments: [
            ("xn--bcher-kva.example", "bücher.example"),
            ("xn--mnchen-3ya.de", "münchen.de"),
            ("xn--r8jz45g.xn--zckzah", "例え.テスト"),
            ("xn--fa-hia.de", "faß.de"),
            ("XN--BCHER-KVA.example", "bücher.example"),
            ("example.com", "example.com"),
        ]
    )
    func roundTrips(_ ascii: String, _ unicode: String) throws {
        #expect(IDNA.toUnicode(ascii) == unicode)
        #expect(try IDNA.toASCII(unicode) == ascii.lowercased())
    }

    @Test("toUnicode refuses an invalid xn-- label", arguments: ["xn--zz.com", "xn--abc-.com", "www.xn--.example"])
    func toUnicodeRefuses(_ domain: String) {
        #expect(IDNA.toUnicode(domain) == nil)
    }

    @Test("error descriptions name the rule and never quote the domain")
    func errorDescription() {
        let error = #expect(throws: IDNAError.self) { try IDNA.toASCII("secret_name.example") }
        #expect(error?.description == "domain label contains a character not allowed in domain names")
        #expect(error?.description.contains("secret") == false)
    }
}
