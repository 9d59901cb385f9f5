/// Looks up the addresses of a host name: the seam tests replace so they need no DNS.
public protocol HostResolver: Sendable {
    /// Every address `host` resolves to, in the order the system would try them.
    ///
    /// - Throws: ``ResolutionError`` when the name does not resolve.
    func addresses(of host: String) async throws(ResolutionError) -> [IPAddress]
}

/// A name lookup failed.
public struct ResolutionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Whether asking again later may succeed (a resolver timeout rather than "no such host").
    public var isTransient: Bool
    /// The resolver's reason, e.g. `Name or service not known`.
    public var reason: String

    /// Creates an error.
    public init(isTransient: Bool, reason: String) {
        self.isTransient = isTransient
        self.reason = reason
    }

    public var description: String { reason }
}
