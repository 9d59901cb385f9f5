import Foundation
import HTTPTypes
public import Hummingbird
import Secrets
public import Workspaces

/// Authenticates every `/api/v1` call in one of two ways, before a handler runs (anything else is
/// 401):
///
/// - `Authorization: Bearer <token>`: a workspace's API token, or the admin token (scripts).
/// - The `posthorn_session` cookie of a signed-in browser. A change (POST, PUT, PATCH, DELETE)
///   must also come from Posthorn's own origin (``BrowserPolicy/isSameOrigin(_:)``), else 403
///   `csrf_refused`. The workspace is the one `X-Workspace-Id` (or, for an `EventSource`, the
///   query's `workspaceId`) names (404 if the person is not its member), else their first.
public struct AuthMiddleware: RouterMiddleware {
    public typealias Context = PosthornRequestContext

    let workspaces: WorkspaceService
    let users: UserService
    let browser: BrowserPolicy

    /// Creates the middleware.
    public init(workspaces: WorkspaceService, users: UserService, browser: BrowserPolicy) {
        self.workspaces = workspaces
        self.users = users
        self.browser = browser
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            guard header.count > 7, header.prefix(7).lowercased() == "bearer " else { throw APIError.unauthorized }
            let token = Secret(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
            if let (workspace, apiToken) = try await workspaces.authenticate(token) {
                context.workspace = workspace
                context.apiTokenID = apiToken.id
            } else if try await workspaces.isAdmin(token) {
                context.isAdmin = true
            } else {
                throw APIError.unauthorized
            }
        } else if let session = browser.sessionID(of: request) {
            _ = try await SessionAuthentication(users: users, browser: browser).signIn(request, session: session, into: &context)
        } else {
            throw APIError.unauthorized
        }
        return try await next(request, context)
    }
}

/// Turns a session cookie into the signed-in person, their workspace and role: shared by the
/// middleware and the session routes (which answer without one).
struct SessionAuthentication {
    let users: UserService
    let browser: BrowserPolicy

    /// Fills `context` from the session, or throws 401 (ended, expired, unknown) or 403 (a change
    /// from another origin).
    @discardableResult
    func signIn(_ request: Request, session: Secret, into context: inout PosthornRequestContext) async throws -> User {
        guard let user = try await users.user(forSession: session) else {
            throw APIError(.unauthorized, code: "session_ended", "Your session has ended; sign in again")
        }
        if BrowserPolicy.changesState(request.method) { try browser.checkOrigin(request, required: true) }
        let memberships = try await users.memberships(of: user.id)
        let chosen: Membership?
        // The header, or (for an EventSource, which cannot send headers) the query's workspaceId.
        if let id = request.headers[.workspaceID] ?? request.uri.queryParameters["workspaceId"].map(String.init) {
            guard let membership = memberships.first(where: { $0.workspace.id == id }) else {
                throw APIError(
                    .notFound, code: "workspace_not_found", field: "X-Workspace-Id",
                    "You are not a member of this workspace (any more); pick another")
            }
            chosen = membership
        } else {
            chosen = memberships.first
        }
        context.user = user
        context.sessionID = session
        context.workspace = chosen?.workspace
        context.role = chosen?.role
        return user
    }
}

extension HTTPField.Name {
    /// The workspace a signed-in browser works in.
    static let workspaceID = HTTPField.Name("X-Workspace-Id")!
}
