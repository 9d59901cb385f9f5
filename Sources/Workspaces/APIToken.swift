public import Foundation

/// One of a workspace's API tokens, as lists show it: never the token itself, which is shown once
/// when created and stored only as a SHA-256 hash.
///
/// A workspace holds any number of named tokens (one per script or service that calls the API),
/// so a leaked token is revoked without breaking the others, and a token is rotated by creating
/// its successor, switching the caller over, and revoking the old one.
public struct APIToken: Sendable, Hashable, Identifiable {
    /// `tok_` followed by random characters.
    public var id: String
    public var workspaceID: String
    /// What it is for ("CRM sync"), unique within the workspace.
    public var name: String
    public var createdAt: Date
    /// When a request last used it, to the minute (`nil`: never).
    public var lastUsedAt: Date?
    /// The token whose call created this one (`nil`: the workspace's first, or made with the CLI).
    public var createdBy: String?

    /// Creates a token value.
    public init(id: String, workspaceID: String, name: String, createdAt: Date, lastUsedAt: Date? = nil, createdBy: String? = nil) {
        self.createdBy = createdBy
        self.id = id
        self.workspaceID = workspaceID
        self.name = name
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }

    /// The id of the token a workspace is created with (named `default`).
    public static func defaultID(of workspaceID: String) -> String { "tok_" + workspaceID }
}
