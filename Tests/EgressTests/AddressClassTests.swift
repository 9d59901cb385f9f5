import Testing
import Egress

/// Parses a literal the test tables spell correctly; a typo fails the test that uses it.
func address(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> IPAddress {
    try #require(IPAddress(text), "\(text) should parse as an address", sourceLocation: sourceLocation)
}

extension AddressClass {
    /// The refused range, or `nil` for a public address.
    var range: SpecialPurposeRange? {
        switch self {
        case .public: nil
        case .special(let range): range
        }
    }
}

@Suite("Address classes")
struct AddressClassTests {
    // MARK: - IPv4 deny table

    struct DenyRange: CustomTestStringConvertible, Sendable {
        var block: String
        var name: String
        var first: String
        var last: String
        var testDescription: String { "\(name) \(block)" }
    }

    static let ipv4DenyRanges: [DenyRange] = [
        .init(block: "0.0.0.0/8", name: "this-network", first: "0.0.0.0", last: "0.255.255.255"),
        .init(block: "10.0.0.0/8", name: "private-use", first: "10.0.0.0", last: "10.255.255.255"),
        .init(block: "100.64.0.0/10", name: "shared address space", first: "100.64.0.0", last: "100.127.255.255"),
        .init(block: "127.0.0.0/8", name: "loopback", first: "127.0.0.0", last: "127.255.255.255"),
        .init(block: "169.254.0.0/16", name: "link-local", first: "169.254.0.0", last: "169.254.255.255"),
        .init(block: "172.16.0.0/12", name: "private-use", first: "172.16.0.0", last: "172.31.255.255"),
        .init(block: "192.0.0.0/24", name: "IETF protocol assignments", first: "192.0.0.0", last: "192.0.0.255"),
        .init(block: "192.0.2.0/24", name: "documentation", first: "192.0.2.0", last: "192.0.2.255"),
        .init(block: "192.88.99.0/24", name: "6to4 relay anycast", first: "192.88.99.0", last: "192.88.99.255"),
        .init(block: "192.168.0.0/16", name: "private-use", first: "192.168.0.0", last: "192.168.255.255"),
        .init(block: "198.18.0.0/15", name: "benchmarking", first: "198.18.0.0", last: "198.19.255.255"),
        .init(block: "198.51.100.0/24", name: "documentation", first: "198.51.100.0", last: "198.51.100.255"),
        .init(block: "203.0.113.0/24", name: "documentation", first: "203.0.113.0", last: "203.0.113.255"),
        .init(block: "224.0.0.0/4", name: "multicast", first: "224.0.0.0", last: "239.255.255.255"),
        // 255.255.255.255 itself is the more specific limited-broadcast block below.
        .init(block: "240.0.0.0/4", name: "reserved", first: "240.0.0.0", last: "255.255.255.254"),
        .init(block: "255.255.255.255/32", name: "limited broadcast", first: "255.255.255.255", last: "255.255.255.255"),
    ]

    @Test("the first and last address of every IPv4 deny range are refused and named", arguments: ipv4DenyRanges)
    func ipv4DenyRangeEdges(_ range: DenyRange) throws {
        for text in [range.first, range.last] {
            let refused = try #require(try address(text).addressClass.range, "\(text) should be refused")
            #expect(refused.name == range.name, "\(text)")
            #expect(refused.block.description == range.block, "\(text)")
        }
    }

    @Test("the cloud metadata address is refused as link-local")
    func cloudMetadata() throws {
        let range = try #require(try address("169.254.169.254").addressClass.range)
        #expect(range.description == "link-local (169.254.0.0/16)")
    }

    @Test("addresses just outside the IPv4 deny ranges are public", arguments: [
        "1.0.0.0", "1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0",
        "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
        "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0",
        "191.255.255.255", "192.0.1.0", "192.0.3.0", "192.88.98.255", "192.88.100.0",
        "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0",
        "198.51.99.255", "198.51.101.0", "203.0.112.255", "203.0.114.0", "223.255.255.255",
    ])
    func ipv4Public(_ text: String) throws {
        #expect(try address(text).addressClass == .public)
    }

    // MARK: - IPv6: only global unicast minus its special blocks

    @Test("IPv6 outside global unicast, and the special blocks inside it, are refused", arguments: [
        ("::", "unspecified (::/128)"),
        ("::1", "loopback (::1/128)"),
        ("::ffff:127.0.0.1", "IPv4-mapped (::ffff:0.0.0.0/96)"),
        ("::ffff:8.8.8.8", "IPv4-mapped (::ffff:0.0.0.0/96)"),
        ("::127.0.0.1", "IPv4-compatible (::/96)"),
        ("64:ff9b::7f00:1", "NAT64 (64:ff9b::/96)"),
        ("64:ff9b::8.8.8.8", "NAT64 (64:ff9b::/96)"),
        ("64:ff9b:1::1", "local-use NAT64 (64:ff9b:1::/48)"),
        ("100::1", "discard-only (100::/64)"),
        ("fc00::1", "unique-local (fc00::/7)"),
        ("fd00:ec2::254", "unique-local (fc00::/7)"),
        ("fe80::1", "link-local (fe80::/10)"),
        ("fec0::1", "site-local (fec0::/10)"),
        ("ff02::1", "multicast (ff00::/8)"),
        ("4000::1", "reserved (4000::/3)"),
        ("1fff:ffff::1", "reserved (1000::/4)"),
        ("2001::1", "IETF protocol assignments (2001::/23)"),
        ("2001:1ff::1", "IETF protocol assignments (2001::/23)"),
        ("2001:db8::1", "documentation (2001:db8::/32)"),
        ("2002::1", "6to4 (2002::/16)"),
        ("3fff::1", "documentation (3fff::/20)"),
        ("3fff:fff::1", "documentation (3fff::/20)"),
        ("e000::1", "reserved (e000::/4)"),
        ("fe00::1", "reserved (fe00::/9)"),
    ])
    func ipv6Refused(_ text: String, range: String) throws {
        let refused = try #require(try address(text).addressClass.range, "\(text) should be refused")
        #expect(refused.description == range)
    }

    @Test("global unicast IPv6 outside the special blocks is public", arguments: [
        "2000::", "2001:200::1", "2001:4860:4860::8888", "2606:4700::1111",
        "2a00::1", "2001:db9::1", "2003::1", "3ffe:ffff::1", "3fff:1000::1",
        "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ])
    func ipv6Public(_ text: String) throws {
        #expect(try address(text).addressClass == .public)
    }

    @Test("an IPv4-mapped address is refused even when the IPv4 address inside is public")
    func mappedPublicIPv4() throws {
        #expect(try address("8.8.8.8").addressClass == .public)
        #expect(try address("::ffff:8.8.8.8").addressClass != .public)
        #expect(try address("::ffff:808:808") == address("::ffff:8.8.8.8"))
    }

    @Test("every refused IPv6 address gets a registry name", arguments: [
        "::2", "::ffff:0:0", "1::", "200::1", "400::1", "800::1", "6000::1", "8000::1",
        "a000::1", "c000::1", "f000::1", "f800::1", "febf:ffff::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ])
    func ipv6RefusedIsNamed(_ text: String) throws {
        let refused = try #require(try address(text).addressClass.range, "\(text) should be refused")
        #expect(refused.name != "outside global unicast")
        #expect(refused.block.contains(try address(text)))
    }
}
