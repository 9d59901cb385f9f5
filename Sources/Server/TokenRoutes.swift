import Foundation
import HTTPTypes
import Hummingbird
import Secrets
import Workspaces

/// `GET/POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`: the workspace's API tokens. A token is
/// shown once, in the answer that creates it; rotating one is creating its successor and revoking it.
struct TokenRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.get("tokens") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            return TokenListResponse(items: try await services.workspaces.tokens(in: workspace.id).map(TokenResponse.init))
        }
        group.post("tokens") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let body = try await JSONBody.decode(CreateWorkspaceBody.self, from: request, context: context)
            let (token, value) = try await services.workspaces.createToken(
                name: body.name, in: workspace.id, createdBy: context.apiTokenID ?? context.user?.id)
            var response = TokenResponse(token)
            response.token = value.revealedValue
            return EditedResponse(status: .created, headers: [.location: "/api/v1/tokens/\(token.id)"], response: response)
        }
        group.delete("tokens/:id") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            try await services.workspaces.revokeToken(try context.parameters.require("id"), in: workspace.id)
            return HTTPResponse.Status.noContent
        }
    }
}

/// An API token as lists show it; `token` (the value) only in the answer that creates it.
struct TokenResponse: ResponseEncodable {
    var id: String
    var name: String
    var createdAt: String
    @ExplicitNull var lastUsedAt: String?
    @ExplicitNull var createdBy: String?
    /// Only in the answer that creates the token (absent, not null, elsewhere).
    var token: String?

    init(_ token: APIToken) {
        id = token.id
        name = token.name
        createdBy = token.createdBy
        createdAt = Timestamp.string(token.createdAt)
        lastUsedAt = token.lastUsedAt.map(Timestamp.string)
    }
}

struct TokenListResponse: ResponseEncodable {
    var items: [TokenResponse]
}
