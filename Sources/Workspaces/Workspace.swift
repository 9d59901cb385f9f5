public import Foundation

/// A team's space: its credentials (and later its flows and runs) are visible only through its own
/// API token.
public struct Workspace: Sendable, Hashable, Identifiable {
    /// `ws_` followed by 20 random base32 characters.
    public var id: String
    /// A label, unique on this server.
    public var name: String
    public var createdAt: Date
    /// A cap on every send of the workspace, whatever the credential (`nil`: none). Read it from
    /// ``WorkspaceStore/workspace(id:)``: workspaces that come with a token or a session leave it out.
    public var limits: RateLimits?

    /// Creates a workspace value.
    public init(id: String, name: String, createdAt: Date, limits: RateLimits? = nil) {
        self.limits = limits
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}
