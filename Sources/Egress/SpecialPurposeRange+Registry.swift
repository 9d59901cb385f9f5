// MARK: - The deny table
//
// IPv4 is a deny list: every block below is refused, everything else is public. The list is the IANA
// IPv4 Special-Purpose Address Registry's blocks that are not globally reachable, plus multicast and
// the reserved class E. 169.254.0.0/16 holds the cloud metadata services (169.254.169.254 on AWS,
// GCP and Azure), the classic target of server-side request forgery.
//
// IPv6 is an allow list, because its special blocks are many and keep growing: only global unicast
// 2000::/3 is public, minus the special-purpose blocks inside it. That refuses, among others, `::`
// and `::1`, IPv4-mapped `::ffff:0:0/96` and IPv4-compatible `::/96` addresses, NAT64 `64:ff9b::/96`,
// unique-local `fc00::/7` (which holds AWS's IPv6 metadata address fd00:ec2::254), link-local
// `fe80::/10` and multicast `ff00::/8`.
//
// IPv4-mapped and NAT64 addresses are refused as IPv6 rather than unwrapped and judged by the IPv4
// address inside. A connection to `::ffff:127.0.0.1` is a connection to 127.0.0.1, and a NAT64
// gateway reaches whatever IPv4 address it is handed; unwrapping would put a second, subtler
// classifier on the path, while no SMTP relay or attachment server needs to be named that way.
//
// The named IPv6 blocks below only label a refusal for the error message; the decision itself is
// "inside 2000::/3 and outside its exceptions".

extension SpecialPurposeRange {
    /// IPv4 blocks that are refused.
    static let ipv4: [SpecialPurposeRange] = [
        .init("this-network", "0.0.0.0/8"),
        .init("private-use", "10.0.0.0/8"),
        .init("shared address space", "100.64.0.0/10"),
        .init("loopback", "127.0.0.0/8"),
        .init("link-local", "169.254.0.0/16"),
        .init("private-use", "172.16.0.0/12"),
        .init("IETF protocol assignments", "192.0.0.0/24"),
        .init("documentation", "192.0.2.0/24"),
        .init("6to4 relay anycast", "192.88.99.0/24"),
        .init("private-use", "192.168.0.0/16"),
        .init("benchmarking", "198.18.0.0/15"),
        .init("documentation", "198.51.100.0/24"),
        .init("documentation", "203.0.113.0/24"),
        .init("multicast", "224.0.0.0/4"),
        .init("reserved", "240.0.0.0/4"),
        .init("limited broadcast", "255.255.255.255/32"),
    ]

    /// The only IPv6 block that may be public.
    static let ipv6GlobalUnicast = CIDR(known: "2000::/3")

    /// Blocks inside ``ipv6GlobalUnicast`` that are refused.
    static let ipv6GlobalUnicastExceptions: [SpecialPurposeRange] = [
        .init("IETF protocol assignments", "2001::/23"),
        .init("documentation", "2001:db8::/32"),
        .init("6to4", "2002::/16"),
        .init("documentation", "3fff::/20"),
    ]

    /// Names for every refused IPv6 address: the exceptions above, the special-purpose blocks outside
    /// global unicast, and the IANA IPv6 Address Space blocks that, with 2000::/3, cover all of it.
    static let ipv6Named: [SpecialPurposeRange] = ipv6GlobalUnicastExceptions + [
        .init("unspecified", "::/128"),
        .init("loopback", "::1/128"),
        .init("IPv4-mapped", "::ffff:0:0/96"),
        .init("IPv4-compatible", "::/96"),
        .init("NAT64", "64:ff9b::/96"),
        .init("local-use NAT64", "64:ff9b:1::/48"),
        .init("discard-only", "100::/64"),
        .init("unique-local", "fc00::/7"),
        .init("link-local", "fe80::/10"),
        .init("site-local", "fec0::/10"),
        .init("multicast", "ff00::/8"),
    ] + [
        "::/8", "100::/8", "200::/7", "400::/6", "800::/5", "1000::/4",
        "4000::/3", "6000::/3", "8000::/3", "a000::/3", "c000::/3",
        "e000::/4", "f000::/5", "f800::/6", "fe00::/9",
    ].map { SpecialPurposeRange("reserved", $0) }

    /// The label for a refused IPv6 address no named block holds; the tables above leave no such
    /// address, and a test checks that.
    static let ipv6Unnamed = SpecialPurposeRange("outside global unicast", "::/0")

    /// The longest-prefix block in `table` that holds `address`.
    static func mostSpecific(containing address: IPAddress, in table: [SpecialPurposeRange]) -> SpecialPurposeRange? {
        table.filter { $0.block.contains(address) }.max { $0.block.prefixLength < $1.block.prefixLength }
    }
}
