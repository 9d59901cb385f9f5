import HTTPTypes
import Hummingbird
import Workspaces

/// `/api/v1/credentials…` and `/api/v1/credential-presets`, all scoped to the caller's workspace:
/// another workspace's credential id is 404, never 403, so ids reveal nothing.
struct CredentialRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        // The presets are the server's, the same for everyone: any valid token may read them.
        let presets = PresetsResponse(presets: CredentialPreset.all)
        group.get("credential-presets") { _, _ in presets }
        group.post("credentials") { request, context in
            let workspace = try context.requireWorkspace()
            let body = try await JSONBody.decode(CredentialBody.self, from: request, context: context)
            guard body.input.version == nil else {
                throw APIError(
                    .unprocessableContent, code: "validation_failed", field: "version",
                    "A new credential has no version yet; send version only when changing one")
            }
            let credential = try await mapped { try await services.credentials.create(body.input, in: workspace.id) }
            return EditedResponse(
                status: .created, headers: [.location: "/api/v1/credentials/\(credential.id)"],
                response: CredentialResponse(credential))
        }
        group.get("credentials") { _, context in
            let workspace = try context.requireWorkspace()
            let credentials = try await services.credentials.list(in: workspace.id)
            return CredentialListResponse(credentials: credentials.map(CredentialResponse.init))
        }
        group.get("credentials/:id") { _, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            return CredentialResponse(try await mapped { try await services.credentials.credentialByID(id, in: workspace.id) })
        }
        group.patch("credentials/:id") { request, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            let body = try await JSONBody.decode(CredentialBody.self, from: request, context: context)
            _ = try await mapped { try await services.credentials.credentialByID(id, in: workspace.id) }
            return CredentialResponse(try await mapped { try await services.credentials.update(id, in: workspace.id, with: body.input) })
        }
        group.delete("credentials/:id") { _, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            _ = try await mapped { try await services.credentials.credentialByID(id, in: workspace.id) }
            try await mapped { try await services.credentials.delete(id, in: workspace.id) }
            return HTTPResponse.Status.noContent
        }
        group.post("credentials/:id/test") { _, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            let credential = try await mapped { try await services.credentials.credentialByID(id, in: workspace.id) }
            return try await mapped { try await services.connectionTester.test(credential) }
        }
    }

    /// Runs `body`, turning service errors into API errors.
    private func mapped<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as WorkspaceError {
            throw APIError(error)
        }
    }
}

struct CredentialListResponse: ResponseEncodable {
    var credentials: [CredentialResponse]
}

struct PresetsResponse: ResponseEncodable {
    var presets: [CredentialPreset]
}
