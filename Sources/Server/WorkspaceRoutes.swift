import Foundation
import HTTPTypes
import Hummingbird
import Secrets
import Workspaces

/// `POST /api/v1/workspaces` (the instance owner: the admin token, or the person who set up the
/// instance, who becomes the new workspace's admin) and `GET /api/v1/workspace` (the caller's own).
struct WorkspaceRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.post("workspaces") { request, context in
            try context.requireOwner()
            let body = try await JSONBody.decode(CreateWorkspaceBody.self, from: request, context: context)
            do {
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
            } catch let error as WorkspaceError {
                throw APIError(error)
            }
        }
        group.get("workspace") { _, context in
            WorkspaceResponse(try context.requireWorkspace())
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

struct WorkspaceResponse: ResponseEncodable {
    var id: String
    var name: String
    var createdAt: String

    init(_ workspace: Workspace) {
        id = workspace.id
        name = workspace.name
        createdAt = Timestamp.string(workspace.createdAt)
    }
}

/// The one response that shows a token: the new workspace's, once (for a bearer caller; a person
/// signed in gets none).
struct CreatedWorkspaceResponse: ResponseEncodable {
    var workspace: WorkspaceResponse
    var token: String?
}
