/// An IPv4 or IPv6 address, stored as one unsigned integer in host byte order.
///
/// Text goes in only through the strict parsers in `IPAddress+Parsing.swift` and comes out only in
/// the canonical form: IPv4 as a dotted quad, IPv6 as RFC 5952 recommends (lowercase hex, no leading
/// zeros, the longest run of two or more zero groups as `::`, IPv4-mapped addresses in mixed
/// notation). So `IPAddress(String(describing: address)) == address` for every address, and two
/// spellings of one address always print the same way in logs and errors.
public enum IPAddress: Hashable, Sendable {
    /// An IPv4 address; `0x7F00_0001` is `127.0.0.1`.
    case v4(UInt32)
    /// An IPv6 address; the most significant bits are the first group.
    case v6(UInt128)
}

// MARK: - Canonical text

extension IPAddress: LosslessStringConvertible {
    /// The canonical text: `192.0.2.1`, `2001:db8::1`, `::ffff:192.0.2.1`.
    public var description: String {
        switch self {
        case .v4(let value):
            return Self.dottedQuad(value)
        case .v6(let value):
            return Self.rfc5952(value)
        }
    }

    static func dottedQuad(_ value: UInt32) -> String {
        "\(value >> 24).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(value & 0xFF)"
    }

    /// RFC 5952 section 4: groups in lowercase hex without leading zeros; the longest run of at least
    /// two zero groups (the first one on a tie) becomes `::`; a lone zero group stays `0`. Section 5:
    /// addresses under the IPv4-mapped prefix `::ffff:0:0/96` end in a dotted quad.
    static func rfc5952(_ value: UInt128) -> String {
        if value >> 32 == 0xFFFF {
            return "::ffff:" + dottedQuad(UInt32(truncatingIfNeeded: value))
        }
        let groups = (0..<8).map { index in UInt16(truncatingIfNeeded: value >> (112 - 16 * index)) }

        var bestStart = -1
        var bestLength = 1  // a run must be longer than this to be compressed
        var index = 0
        while index < groups.count {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < groups.count, groups[end] == 0 { end += 1 }
            if end - index > bestLength {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }

        func hex(_ slice: ArraySlice<UInt16>) -> String {
            slice.map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(groups[...]) }
        return hex(groups[..<bestStart]) + "::" + hex(groups[(bestStart + bestLength)...])
    }
}

// MARK: - Family

extension IPAddress {
    /// The number of bits in an address of this family: 32 or 128.
    public var bitWidth: Int {
        switch self {
        case .v4: 32
        case .v6: 128
        }
    }
}
