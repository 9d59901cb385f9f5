public import Hummingbird
public import Workspaces

/// The request context: who the bearer token says is calling.
public struct PosthornRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller's workspace, set by ``TokenAuthMiddleware`` for workspace tokens.
    public var workspace: Workspace?
    /// Whether the caller presented the admin token.
    public var isAdmin: Bool
    /// The id of the workspace API token the caller presented.
    public var apiTokenID: String?

    /// A context for a new request, before authentication.
    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        workspace = nil
        isAdmin = false
        apiTokenID = nil
    }

    /// The caller's workspace, or 403 when the admin token was used where a workspace token is needed.
    func requireWorkspace() throws -> Workspace {
        if let workspace { return workspace }
        throw APIError(.forbidden, code: "workspace_token_required", "This call needs a workspace API token")
    }

    func requireAdmin() throws {
        guard isAdmin else { throw APIError(.forbidden, code: "admin_token_required", "This call needs the admin API token") }
    }
}
