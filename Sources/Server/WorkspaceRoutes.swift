import Foundation
import HTTPTypes
import Hummingbird
import Secrets
import Workspaces

/// `POST /api/v1/workspaces` (the instance owner: the admin token, or the person who set up the
/// instance, who becomes the new workspace's admin), `GET /api/v1/workspace` (the caller's own) and
/// `PATCH /api/v1/workspace` (its sending cap, by an admin of it).
struct WorkspaceRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.post("workspaces") { request, context in
            try context.requireOwner()
            let body = try await JSONBody.decode(CreateWorkspaceBody.self, from: request, context: context)
            let (workspace, token) = try await services.workspaces.create(name: body.name)
            try await services.users.workspaceCreated(workspace, by: context.user)
            // A person works in it through the web app: no API token is made for them behind
            // their back (they create named ones on its API tokens page).
            var shown: String? = token.revealedValue
            if context.user != nil {
                try await services.workspaces.revokeToken(APIToken.defaultID(of: workspace.id), in: workspace.id)
                shown = nil
            }
            return EditedResponse(
                status: .created, response: CreatedWorkspaceResponse(workspace: WorkspaceResponse(workspace), token: shown))
        }
        group.get("workspace") { _, context in
            // The workspace of a token or session does not carry its cap: read it.
            let workspace = try context.requireWorkspace()
            return WorkspaceResponse(try await services.workspaces.workspace(id: workspace.id) ?? workspace)
        }
        group.patch("workspace") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let body = try await JSONBody.decode(WorkspacePatchBody.self, from: request, context: context)
            return WorkspaceResponse(try await services.workspaces.setLimits(body.limits, in: workspace.id))
        }
    }
}

struct CreateWorkspaceBody: Decodable {
    var name: String

    private enum Key: String, CodingKey { case name }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: ["name"])
        name = try decoder.container(keyedBy: Key.self).decode(String.self, forKey: .name)
    }
}

/// `{"limits": {…} | null}`: the workspace's sending cap (required: `null` removes it).
struct WorkspacePatchBody: Decodable {
    var limits: RateLimits?

    private enum Key: String, CodingKey { case limits }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: ["limits"])
        let container = try decoder.container(keyedBy: Key.self)
        guard let limits = try container.decodeNullable(LimitsBody.self, forKey: .limits) else {
            throw APIError(.unprocessableContent, code: "validation_failed", field: "limits", "Is required")
        }
        self.limits = limits?.limits
    }
}

struct WorkspaceResponse: ResponseEncodable {
    var id: String
    var name: String
    var createdAt: String
    /// A cap on every send of the workspace, whatever the credential; `null` for none.
    @ExplicitNull var limits: LimitsResponse?

    init(_ workspace: Workspace) {
        id = workspace.id
        name = workspace.name
        createdAt = Timestamp.string(workspace.createdAt)
        limits = workspace.limits.map(LimitsResponse.init)
    }
}

/// The one response that shows a token: the new workspace's, once (for a bearer caller; a person
/// signed in gets none).
struct CreatedWorkspaceResponse: ResponseEncodable {
    var workspace: WorkspaceResponse
    var token: String?
}
