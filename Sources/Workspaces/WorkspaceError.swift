/// A request the workspace or credential services refused. Safe to show: it never carries a secret.
public struct WorkspaceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why, in a form an API maps to a status.
    public enum Kind: String, Sendable, Hashable {
        /// Input broke a rule (HTTP 422).
        case validation = "validation_failed"
        /// The object does not exist in this workspace (HTTP 404).
        case notFound = "not_found"
        /// The name is taken (HTTP 409).
        case conflict
        /// The object changed since the version the request was made from (HTTP 409).
        case versionConflict = "version_conflict"
        /// Not signed in, or the credentials are wrong (HTTP 401).
        case unauthorized = "invalid_credentials"
        /// Signed in, but not allowed (HTTP 403).
        case forbidden
        /// Too many failed sign-ins (HTTP 429); ``retryAfter`` says for how long.
        case tooManyAttempts = "too_many_attempts"
        /// The change would leave a workspace without an admin (HTTP 409).
        case lastAdmin = "last_admin"
        /// The stored secret cannot be opened with the current keys (HTTP 500; an operator problem).
        case vault = "vault_error"
    }

    public var kind: Kind
    /// The field the rule is about (`port`, `host`…), when there is one.
    public var field: String?
    /// The rule, in the spec's words where it has them.
    public var message: String
    /// For ``Kind/tooManyAttempts``: seconds until another attempt is allowed.
    public var retryAfter: Double?

    /// Creates an error.
    public init(_ kind: Kind, field: String? = nil, _ message: String) {
        self.kind = kind
        self.field = field
        self.message = message
    }

    /// An input rule broken by `field`.
    public static func invalid(_ field: String, _ message: String) -> WorkspaceError {
        WorkspaceError(.validation, field: field, message)
    }

    /// Too many failed sign-ins; another is allowed after `retryAfter` seconds.
    public static func tooManyAttempts(retryAfter: Double) -> WorkspaceError {
        let minutes = max(1, Int((retryAfter / 60).rounded(.up)))
        var error = WorkspaceError(.tooManyAttempts, "Too many failed sign-ins; try again in \(minutes) minute\(minutes == 1 ? "" : "s")")
        error.retryAfter = retryAfter
        return error
    }

    public var description: String {
        if let field { "\(field): \(message)" } else { message }
    }
}
