public import Hummingbird
import NIOCore
public import Secrets
public import Workspaces

/// The request context: who is calling (a bearer token or a browser session) and in which workspace.
public struct PosthornRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller's workspace: a workspace token's, or the one a signed-in browser works in.
    public var workspace: Workspace?
    /// Whether the caller presented the admin token (which acts as the instance owner).
    public var isAdmin: Bool
    /// The id of the workspace API token the caller presented.
    public var apiTokenID: String?
    /// The signed-in person, for a browser session.
    public var user: User?
    /// The signed-in person's role in ``workspace``.
    public var role: WorkspaceRole?
    /// The browser session's id, to end it on sign-out.
    public var sessionID: Secret?
    /// The peer's IP address, for sign-in throttling (`unknown` when there is no socket, in tests).
    public let remoteAddress: String

    /// A context for a new request, before authentication.
    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        workspace = nil
        isAdmin = false
        apiTokenID = nil
        user = nil
        role = nil
        sessionID = nil
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The caller's workspace, or 403 when the caller has none (the admin token, or a person who
    /// belongs to no workspace yet).
    func requireWorkspace() throws -> Workspace {
        if let workspace { return workspace }
        if user != nil {
            throw APIError(.forbidden, code: "no_workspace", "You are not a member of any workspace yet; ask an admin for an invitation")
        }
        throw APIError(.forbidden, code: "workspace_token_required", "This call needs a workspace API token")
    }

    /// The caller's workspace, when the caller may manage it: a workspace token, or a person who is
    /// its admin; a member gets 403 `admin_required`.
    func requireWorkspaceAdmin() throws -> Workspace {
        let workspace = try requireWorkspace()
        guard user == nil || role == .admin else {
            throw APIError(.forbidden, code: "admin_required", "Only a workspace admin can do this")
        }
        return workspace
    }

    /// Passes for the instance owner: the admin token, or the person who set up the instance.
    func requireOwner() throws {
        if isAdmin || user?.isOwner == true { return }
        if user != nil { throw APIError(.forbidden, code: "owner_required", "Only the instance owner can do this") }
        throw APIError(.forbidden, code: "admin_token_required", "This call needs the admin API token")
    }
}
