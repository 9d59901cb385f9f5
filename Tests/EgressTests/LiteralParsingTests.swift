import Testing
import Egress

@Suite("Address literals")
struct LiteralParsingTests {
    /// Spellings that some parser (`inet_aton`, a URL library, a resolver) reads as an address but
    /// that are not the one canonical spelling; reading them differently from the connect path is how
    /// a filter is bypassed.
    static let nonCanonical = [
        "127.1", "2130706433", "0x7f.1", "0x7f.0.0.1", "010.0.0.1", "0177.0.0.1", "127.0.0.1.",
        "1.2.3.4.5", "fe80::1%eth0", "[127.0.0.1]", "127.000.0.1", "256.0.0.1", "127.0.0.1 ",
        " 127.0.0.1", "1.2.3", "::ffff:127.1", "1::2::3", ":::", "12345::", "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7", "::1.2.3.4:5", "g::1", "",
    ]

    @Test("the strict parser refuses non-canonical literals", arguments: nonCanonical)
    func strictParserRefuses(_ text: String) {
        #expect(IPAddress(text) == nil)
        #expect(IPAddress(uriHost: text) == nil)
    }

    @Test("canonical literals parse to the expected address", arguments: [
        ("0.0.0.0", IPAddress.v4(0)),
        ("127.0.0.1", .v4(0x7F00_0001)),
        ("255.255.255.255", .v4(.max)),
        ("::", .v6(0)),
        ("::1", .v6(1)),
        ("2001:db8::1", .v6(0x2001_0db8_0000_0000_0000_0000_0000_0001)),
        ("::ffff:127.0.0.1", .v6(0xFFFF_7F00_0001)),
        ("1:2:3:4:5:6:7:8", .v6(0x0001_0002_0003_0004_0005_0006_0007_0008)),
        ("1:2:3:4:5:6:1.2.3.4", .v6(0x0001_0002_0003_0004_0005_0006_0102_0304)),
    ])
    func parses(_ text: String, expected: IPAddress) {
        #expect(IPAddress(text) == expected)
    }

    @Test("any RFC 4291 spelling of an IPv6 address prints in RFC 5952 form", arguments: [
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("::FFFF:7f00:1", "::ffff:127.0.0.1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("fe80::", "fe80::"),
    ])
    func printsCanonically(_ text: String, canonical: String) throws {
        let parsed = try address(text)
        #expect(parsed.description == canonical)
        #expect(IPAddress(parsed.description) == parsed)
    }

    @Test("a URI host takes IPv6 only in brackets")
    func uriHost() {
        #expect(IPAddress(uriHost: "[2001:db8::1]") == IPAddress("2001:db8::1"))
        #expect(IPAddress(uriHost: "192.0.2.1") == IPAddress("192.0.2.1"))
        #expect(IPAddress(uriHost: "2001:db8::1") == nil)
        #expect(IPAddress(uriHost: "[fe80::1%25eth0]") == nil)
        #expect(IPAddress(uriHost: "[v1.fe80::1]") == nil)
        #expect(IPAddress("[2001:db8::1]") == nil)
    }
}
