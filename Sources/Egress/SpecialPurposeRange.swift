/// A named block that outbound connections may not reach unless an operator allowlists it: loopback,
/// private-use, link-local (cloud metadata services), documentation, multicast and the like.
///
/// The names follow the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890) and the
/// IANA IPv6 Address Space registry, so an error such as "10.0.0.5 is in the private-use range
/// (10.0.0.0/8)" can be looked up.
public struct SpecialPurposeRange: Hashable, Sendable {
    /// The registry's name for the block, lowercase unless it is an acronym: `loopback`,
    /// `private-use`, `unique-local`.
    public let name: String
    /// The block itself.
    public let block: CIDR

    init(_ name: String, _ block: String) {
        self.name = name
        self.block = CIDR(known: block)
    }
}

extension SpecialPurposeRange: CustomStringConvertible {
    /// `name (block)`, e.g. `loopback (127.0.0.0/8)`.
    public var description: String { "\(name) (\(block))" }
}

/// Whether an address may be reached from the public internet, and if not, why.
public enum AddressClass: Hashable, Sendable {
    /// A globally routable unicast address.
    case `public`
    /// An address inside a special-purpose or reserved block.
    case special(SpecialPurposeRange)
}

extension IPAddress {
    /// The address's class under the deny table in `SpecialPurposeRange+Registry.swift`; the
    /// operator's allowlist is not consulted (see ``EgressPolicy/permits(_:)``).
    public var addressClass: AddressClass {
        switch self {
        case .v4:
            if let range = SpecialPurposeRange.mostSpecific(containing: self, in: SpecialPurposeRange.ipv4) {
                return .special(range)
            }
            return .public
        case .v6:
            if SpecialPurposeRange.ipv6GlobalUnicast.contains(self),
               SpecialPurposeRange.mostSpecific(containing: self, in: SpecialPurposeRange.ipv6GlobalUnicastExceptions) == nil {
                return .public
            }
            return .special(
                SpecialPurposeRange.mostSpecific(containing: self, in: SpecialPurposeRange.ipv6Named)
                    ?? SpecialPurposeRange.ipv6Unnamed
            )
        }
    }
}
