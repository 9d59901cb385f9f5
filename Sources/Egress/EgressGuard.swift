#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A host the guard vetted: the one address to connect to, and every address the name had.
public struct PinnedHost: Hashable, Sendable {
    /// The name as configured: what SNI and certificate checks must use.
    public var hostName: String
    /// The vetted address; connect to this and nothing else (DNS pinning).
    public var address: IPAddress
    /// Every address the name resolved to, all of them vetted.
    public var allAddresses: [IPAddress]
}

/// Decides where outbound connections may go: resolve the host once, classify every answer, refuse
/// the host if any answer is not permitted, and hand back the address to pin the connection to.
///
/// Resolving once and connecting to the vetted address closes the DNS-rebinding gap (a name that
/// answers with a public address for the check and 127.0.0.1 for the connection). Refusing the
/// whole name when any answer is private keeps a round-robin record from smuggling one in.
public struct EgressGuard: Sendable {
    /// What may be reached.
    public let policy: EgressPolicy
    private let resolver: any HostResolver

    /// Creates a guard using `resolver` (the system's by default) for host names.
    public init(policy: EgressPolicy, resolver: any HostResolver = SystemResolver()) {
        self.policy = policy
        self.resolver = resolver
    }

    /// Vets `host` (a name, an IP literal, or a bracketed IPv6 literal) and returns the address to
    /// connect to.
    ///
    /// - Throws: ``EgressError``; nothing has touched the network for a refused literal, and for a
    ///   name only the single DNS lookup has.
    public func vet(host: String) async throws(EgressError) -> PinnedHost {
        if let literal = IPAddress(host) ?? IPAddress(uriHost: host) {
            try check(literal, host: host)
            return PinnedHost(hostName: host, address: literal, allAddresses: [literal])
        }
        guard !Self.isAddressLike(host) else { throw .nonCanonicalAddress(host: host) }

        let answers: [IPAddress]
        do {
            answers = try await resolver.addresses(of: host)
        } catch {
            throw .resolutionFailed(host: host, error)
        }
        guard let first = answers.first else { throw .noAddresses(host: host) }
        for answer in answers {
            try check(answer, host: host)
        }
        return PinnedHost(hostName: host, address: first, allAddresses: answers)
    }

    private func check(_ address: IPAddress, host: String) throws(EgressError) {
        guard !policy.permits(address) else { return }
        switch address.addressClass {
        case .special(let range):
            throw .refused(host: host, address: address, range: range)
        case .public:
            preconditionFailure("a public address is always permitted")
        }
    }

    /// Whether a host that is not a strict literal would still be read as an address by some parser:
    /// anything `inet_aton` accepts (`127.1`, `2130706433`, `0x7f.1`, `010.0.0.1`), anything with a
    /// colon (a malformed or zoned IPv6 literal), or a bracketed form.
    static func isAddressLike(_ host: String) -> Bool {
        if host.contains(":") || host.hasPrefix("[") || host.contains("%") { return true }
        var storage = in_addr()
        if inet_aton(host, &storage) != 0 { return true }
        // A name whose last label is all digits is never a valid host name (RFC 1123 section 2.1
        // as tightened by RFC 3696): `1.2.3.4.5`, `999.1.1.1`.
        // One trailing dot (the DNS root) is dropped first, so `127.0.0.1.` counts too.
        let name = host.hasSuffix(".") ? host.dropLast() : Substring(host)
        if let last = name.split(separator: ".", omittingEmptySubsequences: false).last,
           !last.isEmpty, last.allSatisfy({ $0.isASCII && $0.isNumber }) {
            return true
        }
        return false
    }
}
