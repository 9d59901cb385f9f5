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
        /// The stored secret cannot be opened with the current keys (HTTP 500; an operator problem).
        case vault = "vault_error"
    }

    public var kind: Kind
    /// The field the rule is about (`port`, `host`…), when there is one.
    public var field: String?
    /// The rule, in the spec's words where it has them.
    public var message: String

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

    public var description: String {
        if let field { "\(field): \(message)" } else { message }
    }
}
