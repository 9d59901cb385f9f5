/// Which pooled sessions may carry a message: one workspace's one credential, with one password and
/// one set of connection settings.
///
/// Sessions are never shared across keys, so a credential can never send for another workspace, and
/// a changed password or setting never reuses a session opened with the old one. Keys with the same
/// ``scope`` but a different ``version`` supersede each other: the old key's sessions drain (idle
/// ones close at once, busy ones when their message is done).
public struct PoolKey: Hashable, Sendable, CustomStringConvertible {
    /// The workspace and credential, e.g. `ws_1/cred_9`.
    public var scope: String
    /// A digest of everything else that makes a session: the password fingerprint from the vault and
    /// every connection setting. Opaque; never the password itself.
    public var version: String

    /// Creates a key.
    public init(scope: String, version: String) {
        self.scope = scope
        self.version = version
    }

    /// The workspace part of the scope (before `/`).
    public var workspace: Substring { scope.prefix { $0 != "/" } }

    /// `scope@version`, safe to log: neither part is secret.
    public var description: String { "\(scope)@\(version)" }
}
