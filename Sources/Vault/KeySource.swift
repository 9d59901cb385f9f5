public import Foundation

/// Where ``KeyRingFile/resolve(environment:defaultURL:)`` found the key ring.
public enum KeySource: Sendable, Hashable {
    /// `POSTHORN_MASTER_KEY`: a single key with nowhere to write a rotated ring, so rotation is refused.
    case environment
    /// A key ring file: the file a rotation rewrites; `created` when this start generated it.
    case file(URL, created: Bool)
}
