import Foundation
import HTTPTypes
public import Hummingbird
import Secrets
public import Workspaces

/// Reads `Authorization: Bearer <token>` and records whose token it is: a workspace's, or the
/// admin's. Anything else is 401 before a handler runs.
public struct TokenAuthMiddleware: RouterMiddleware {
    public typealias Context = PosthornRequestContext

    let workspaces: WorkspaceService

    /// Creates the middleware.
    public init(workspaces: WorkspaceService) {
        self.workspaces = workspaces
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else { throw APIError.unauthorized }
        let token = Secret(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        var context = context
        if let (workspace, apiToken) = try await workspaces.authenticate(token) {
            context.workspace = workspace
            context.apiTokenID = apiToken.id
        } else if try await workspaces.isAdmin(token) {
            context.isAdmin = true
        } else {
            throw APIError.unauthorized
        }
        return try await next(request, context)
    }
}
