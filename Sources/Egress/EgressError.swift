/// Why the egress guard would not let a connection go out.
public enum EgressError: Error, Hashable, Sendable {
    /// The address (given, or one the name resolved to) is not public and not allowlisted.
    case refused(host: String, address: IPAddress, range: SpecialPurposeRange)
    /// The host is a legacy or malformed address literal (`127.1`, `0x7f.0.0.1`, `fe80::1%eth0`)
    /// that resolvers read differently from each other.
    case nonCanonicalAddress(host: String)
    /// The name did not resolve.
    case resolutionFailed(host: String, ResolutionError)
    /// The name resolved to no address.
    case noAddresses(host: String)

    /// Whether the operator's policy refused the host (as opposed to DNS failing): `EPOLICY`
    /// rather than `EDNS`.
    public var isPolicyRefusal: Bool {
        switch self {
        case .refused, .nonCanonicalAddress: true
        case .resolutionFailed, .noAddresses: false
        }
    }

    /// Whether asking again later may help.
    public var isTransient: Bool {
        switch self {
        case .refused, .nonCanonicalAddress, .noAddresses: false
        case .resolutionFailed(_, let error): error.isTransient
        }
    }
}

extension EgressError: CustomStringConvertible {
    /// One sentence naming the host and, for a refusal, the range and the way to open it.
    public var description: String {
        switch self {
        case .refused(let host, let address, let range):
            let resolved = host == address.description ? "" : " (resolved to \(address))"
            return "Outbound connection to \(host.displayQuoted)\(resolved) refused: the address is in the \(range) range, "
                + "and only public addresses are allowed unless an operator allows the range with --allow-private-egress or POSTHORN_ALLOW_PRIVATE_EGRESS"
        case .nonCanonicalAddress(let host):
            return "\(host.displayQuoted) is not a canonical IP address; write IPv4 as four decimal numbers (192.0.2.1) and IPv6 without a zone"
        case .resolutionFailed(let host, let error):
            return "Could not resolve \(host.displayQuoted): \(error.reason)"
        case .noAddresses(let host):
            return "\(host.displayQuoted) has no IPv4 or IPv6 address"
        }
    }
}
