import Testing
import Egress

@Suite("Allowlist")
struct AllowlistTests {
    @Test("without an allowlist, loopback is refused and public addresses are permitted", arguments: [
        ("127.0.0.1", false), ("::1", false), ("10.0.0.1", false), ("169.254.169.254", false),
        ("8.8.8.8", true), ("2606:4700::1111", true),
    ])
    func defaultPolicy(_ text: String, permitted: Bool) throws {
        #expect(try EgressPolicy().permits(address(text)) == permitted)
    }

    @Test("allowlisted single addresses open exactly those addresses", arguments: [
        ("127.0.0.1", true), ("::1", true), ("127.0.0.2", false), ("::2", false),
        ("::ffff:127.0.0.1", false), ("10.0.0.1", false),
    ])
    func singleAddresses(_ text: String, permitted: Bool) throws {
        let policy = try EgressPolicy(allowlist: EgressPolicy.parseAllowlist("127.0.0.1, ::1"))
        #expect(try policy.permits(address(text)) == permitted)
    }

    @Test("an allowlisted range opens the private addresses inside it and no others", arguments: [
        ("10.0.0.0", true), ("10.1.2.3", true), ("10.255.255.255", true), ("fd00::1", true),
        ("172.16.0.1", false), ("192.168.1.1", false), ("127.0.0.1", false), ("fc00::1", false),
        ("::ffff:10.1.2.3", false),
    ])
    func ranges(_ text: String, permitted: Bool) throws {
        let policy = try EgressPolicy(allowlist: EgressPolicy.parseAllowlist("10.0.0.0/8,\tfd00::/8"))
        #expect(try policy.permits(address(text)) == permitted)
    }

    @Test("a range holds exactly the addresses sharing its prefix, of its own family", arguments: [
        ("10.0.0.0/8", "10.1.2.3", true), ("10.0.0.0/8", "11.0.0.1", false),
        ("10.0.0.0/8", "9.255.255.255", false), ("10.0.0.0/8", "::ffff:10.1.2.3", false),
        ("127.0.0.1/32", "127.0.0.1", true), ("127.0.0.1/32", "127.0.0.2", false),
        ("0.0.0.0/0", "255.255.255.255", true), ("0.0.0.0/0", "::", false),
        ("fd00::/8", "fdff:ffff::1", true), ("fd00::/8", "fc00::1", false), ("::/0", "0.0.0.0", false),
    ])
    func contains(_ range: String, _ text: String, inside: Bool) throws {
        #expect(try CIDR(range).contains(address(text)) == inside)
    }

    @Test("entries parse to canonical ranges, addresses as single-address ranges", arguments: [
        ("127.0.0.1, ::1", ["127.0.0.1/32", "::1/128"]),
        ("10.0.0.0/8", ["10.0.0.0/8"]),
        (" \t10.0.0.0/8 ,\tFD00::/8 ", ["10.0.0.0/8", "fd00::/8"]),
        ("0.0.0.0/0,::/0", ["0.0.0.0/0", "::/0"]),
        ("", []),
        ("  \t ", []),
    ])
    func parses(_ text: String, expected: [String]) throws {
        #expect(try EgressPolicy.parseAllowlist(text).map(\.description) == expected)
    }

    @Test("malformed allowlists are refused with a message naming the input", arguments: [
        ("10.0.0.1/8", #""10.0.0.1/8""#, "did you mean 10.0.0.0/8 or 10.0.0.1/32?"),
        ("10.0.0.0/33", #""10.0.0.0/33""#, "from 0 to 32"),
        ("::/129", #""::/129""#, "from 0 to 128"),
        ("10.0.0.0/08", #""10.0.0.0/08""#, "prefix length"),
        ("10.0.0.0/", #""10.0.0.0/""#, "prefix length"),
        ("10.0.0.0/8/8", #""10.0.0.0/8/8""#, "prefix length"),
        ("127.1/32", #""127.1/32""#, "not a canonical IPv4 or IPv6 address"),
        ("localhost", #""localhost""#, "expected an address"),
        ("a,,b", #""a""#, "expected an address"),
        ("10.0.0.0/8,,::1", #""10.0.0.0/8,,::1""#, "entry 2 of 3 is empty"),
        ("10.0.0.0/8,", #""10.0.0.0/8,""#, "entry 2 of 2 is empty"),
        (",10.0.0.0/8", #"",10.0.0.0/8""#, "entry 1 of 2 is empty"),
        ("127.0.0.1\n", #""127.0.0.1\u{a}""#, "expected an address"),
    ])
    func refuses(_ text: String, quotedInput: String, reason: String) throws {
        let error = try #require(throws: CIDR.ParseError.self) { try EgressPolicy.parseAllowlist(text) }
        #expect(error.description.contains("\(quotedInput) is not a valid address range"))
        #expect(error.description.contains(reason))
    }
}
