// MARK: - Strict address literals
//
// One spelling per IPv4 address, and only the RFC 4291 section 2.2 spellings of IPv6:
//
//     IPv4 = octet "." octet "." octet "." octet   ; octet: "0" or 1-9 followed by up to two digits, ≤ 255
//     IPv6 = the eight-group, "::"-compressed and mixed (x:x:x:x:x:x:d.d.d.d) forms, 1–4 hex digits a group
//
// Everything `inet_aton` also accepts is refused: fewer than four parts (`127.1`), one big number
// (`2130706433`), hex (`0x7f.0.0.1`) and octal (`0177.0.0.1`; note `010.0.0.1` is 8.0.0.1 there,
// not 10.0.0.1). Two parsers that read one string as two different addresses are how a filter is
// bypassed, so we accept only what every parser agrees on. Zone identifiers (`fe80::1%eth0`) are
// refused too: they name an interface, and every address that needs one is refused by the policy
// anyway. No whitespace is trimmed.

extension IPAddress {
    /// Parses an address literal strictly: a canonical IPv4 dotted quad or an RFC 4291 IPv6 text form
    /// (`::`, `::1`, `2001:DB8:0:0::1`, `::ffff:192.0.2.1`), without brackets, zone identifier or
    /// surrounding whitespace.
    ///
    /// - Returns: `nil` for anything else, including the legacy IPv4 forms `127.1`, `2130706433`,
    ///   `0x7f.0.0.1`, `010.0.0.1`, and a dotted quad with a trailing dot.
    public init?(_ description: String) {
        let bytes = Array(description.utf8)
        if let value = Self.parseDottedQuad(bytes[...]) {
            self = .v4(value)
        } else if let value = Self.parseIPv6(bytes[...]) {
            self = .v6(value)
        } else {
            return nil
        }
    }

    /// Parses the host of a URI (RFC 3986 section 3.2.2) when it is an address: a canonical IPv4
    /// dotted quad, or an IPv6 address in brackets (`[2001:db8::1]`).
    ///
    /// - Returns: `nil` for a registered name, a bare IPv6 address, `IPvFuture`, or anything the
    ///   strict ``init(_:)`` refuses inside the brackets.
    public init?(uriHost: String) {
        let bytes = Array(uriHost.utf8)
        if bytes.first == UInt8(ascii: "["), bytes.last == UInt8(ascii: "]"), bytes.count >= 2 {
            guard let value = Self.parseIPv6(bytes[1..<(bytes.count - 1)]) else { return nil }
            self = .v6(value)
        } else if let value = Self.parseDottedQuad(bytes[...]) {
            self = .v4(value)
        } else {
            return nil
        }
    }
}

// MARK: - IPv4

extension IPAddress {
    /// Exactly four decimal octets, each `0` or without a leading zero, each at most 255.
    static func parseDottedQuad(_ text: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var index = text.startIndex
        for part in 0..<4 {
            if part > 0 {
                guard index < text.endIndex, text[index] == UInt8(ascii: ".") else { return nil }
                index += 1
            }
            let first = index
            var octet: UInt32 = 0
            while index < text.endIndex, index - first < 3, let digit = decimalValue(text[index]) {
                octet = octet * 10 + UInt32(digit)
                index += 1
            }
            let digits = index - first
            guard digits > 0, octet <= 255 else { return nil }
            guard digits == 1 || text[first] != UInt8(ascii: "0") else { return nil }
            value = value << 8 | octet
        }
        return index == text.endIndex ? value : nil
    }

    static func decimalValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        default: nil
        }
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

// MARK: - IPv6

extension IPAddress {
    /// The longest RFC 4291 form: six full groups and a full dotted quad.
    static let maximumIPv6TextLength = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".utf8.count

    /// RFC 4291 section 2.2: eight groups of one to four hex digits; at most one `::` standing for one
    /// or more zero groups; optionally a strict dotted quad as the last 32 bits.
    static func parseIPv6(_ text: ArraySlice<UInt8>) -> UInt128? {
        guard text.count >= 2, text.count <= maximumIPv6TextLength else { return nil }
        let colon = UInt8(ascii: ":")

        var compression: Range<Int>?
        var index = text.startIndex
        while index + 1 < text.endIndex {
            if text[index] == colon, text[index + 1] == colon {
                compression = index..<(index + 2)
                break
            }
            index += 1
        }

        let groups: [UInt16]
        if let compression {
            // The dotted quad may only end the address, so never before the `::`.
            guard let head = parseGroups(text[..<compression.lowerBound], allowsTrailingIPv4: false),
                  let tail = parseGroups(text[compression.upperBound...], allowsTrailingIPv4: true),
                  head.count + tail.count <= 7
            else { return nil }
            groups = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let all = parseGroups(text, allowsTrailingIPv4: true), all.count == 8 else { return nil }
            groups = all
        }
        return groups.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
    }

    /// Colon-separated groups; an empty text is no groups, an empty group (a stray `:`, or a second
    /// `::`) is an error. A dotted quad counts as two groups.
    private static func parseGroups(_ text: ArraySlice<UInt8>, allowsTrailingIPv4: Bool) -> [UInt16]? {
        guard !text.isEmpty else { return [] }
        let parts = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (position, part) in parts.enumerated() {
            if allowsTrailingIPv4, position == parts.count - 1, part.contains(UInt8(ascii: ".")) {
                guard let quad = parseDottedQuad(part) else { return nil }
                groups.append(UInt16(truncatingIfNeeded: quad >> 16))
                groups.append(UInt16(truncatingIfNeeded: quad))
                continue
            }
            guard (1...4).contains(part.count) else { return nil }
            var group: UInt16 = 0
            for byte in part {
                guard let digit = hexValue(byte) else { return nil }
                group = group << 4 | UInt16(digit)
            }
            groups.append(group)
        }
        return groups
    }
}
