import Foundation
import HTTPTypes
import Hummingbird
import Secrets
import Workspaces

/// `POST /api/v1/workspaces` (admin) and `GET /api/v1/workspace` (the caller's own).
struct WorkspaceRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.post("workspaces") { request, context in
            try context.requireAdmin()
            let body = try await JSONBody.decode(CreateWorkspaceBody.self, from: request, context: context)
            do {
                let (workspace, token) = try await services.workspaces.create(name: body.name)
                return EditedResponse(
                    status: .created,
                    response: CreatedWorkspaceResponse(workspace: WorkspaceResponse(workspace), token: token.revealedValue))
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

/// The one response that shows a token: the new workspace's, once.
struct CreatedWorkspaceResponse: ResponseEncodable {
    var workspace: WorkspaceResponse
    var token: String
}
