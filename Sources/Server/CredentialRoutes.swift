import Flows
import HTTPTypes
import Hummingbird
import Workspaces

/// `/api/v1/credentials…` and `/api/v1/credential-presets`, all scoped to the caller's workspace:
/// another workspace's credential id is 404, never 403, so ids reveal nothing.
///
/// Managing credentials is for a workspace's admins (and its API tokens). A member lists them as
/// `{id, type, name}` only, to pick one in a flow; every other call is 403 `admin_required`.
struct CredentialRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        // The presets are the server's, the same for everyone: any valid token may read them.
        let presets = PresetsResponse(presets: CredentialPreset.all)
        group.get("credential-presets") { _, _ in presets }
        group.post("credentials") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let body = try await JSONBody.decode(CredentialBody.self, from: request, context: context)
            try body.refuseCredentialID()
            guard body.input.version == nil else {
                throw APIError(
                    .unprocessableContent, code: "validation_failed", field: "version",
                    "A new credential has no version yet; send version only when changing one")
            }
            let credential = try await services.credentials.create(body.input, in: workspace.id)
            return EditedResponse(
                status: .created, headers: [.location: "/api/v1/credentials/\(credential.id)"],
                response: CredentialResponse(credential, usage: CredentialUsage(lastTest: nil, usedBy: [])))
        }
        group.get("credentials") { request, context in
            let workspace = try context.requireWorkspace()
            let credentials = try await services.credentials.list(in: workspace.id)
            guard (try? context.requireWorkspaceAdmin()) != nil else {
                return try CredentialListResponse(credentials: credentials.map(CredentialSummaryResponse.init))
                    .response(from: request, context: context)
            }
            let tests = try await services.credentials.lastTests(in: workspace.id)
            let users = try await flowsUsingCredentials(in: workspace.id)
            return try CredentialListResponse(credentials: credentials.map {
                CredentialResponse($0, usage: CredentialUsage(lastTest: tests[$0.id], usedBy: users[$0.id] ?? []), providerNames: providerNames)
            }).response(from: request, context: context)
        }
        group.get("credentials/:id") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            return try await response(for: try await services.credentials.credentialByID(id, in: workspace.id))
        }
        group.patch("credentials/:id") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            let body = try await JSONBody.decode(CredentialBody.self, from: request, context: context)
            try body.refuseCredentialID()
            _ = try await services.credentials.credentialByID(id, in: workspace.id)
            return try await response(for: try await services.credentials.update(id, in: workspace.id, with: body.input))
        }
        group.delete("credentials/:id") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            _ = try await services.credentials.credentialByID(id, in: workspace.id)
            try await services.credentials.delete(id, in: workspace.id)
            await services.oauth?.forgetToken(of: id)
            return HTTPResponse.Status.noContent
        }
        group.post("credentials/:id/test") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            let credential = try await services.credentials.credentialByID(id, in: workspace.id)
            return try await services.connectionTester.test(credential)
        }
        // The dialog's Test connection: the form as it stands, stored nowhere.
        group.post("credentials/test") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let body = try await JSONBody.decode(CredentialBody.self, from: request, context: context)
            guard body.input.version == nil else {
                throw APIError(.unprocessableContent, code: "validation_failed", field: "version", "A test does not use version; leave it out")
            }
            let configuration = try await services.credentials.draftConfiguration(
                body.input, in: workspace.id, credentialID: body.credentialID, timeouts: ConnectionTester.timeouts)
            return await services.connectionTester.test(configuration)
        }
    }

    /// The OAuth providers' names by id, for credentials that sign in with one.
    private var providerNames: [String: String] {
        services.oauth?.providerNames ?? [:]
    }

    /// A credential with its latest test and the flows using it.
    private func response(for credential: SMTPCredential) async throws -> CredentialResponse {
        let tests = try await services.credentials.lastTests(in: credential.workspaceID)
        let users = try await flowsUsingCredentials(in: credential.workspaceID)
        return CredentialResponse(
            credential, usage: CredentialUsage(lastTest: tests[credential.id], usedBy: users[credential.id] ?? []), providerNames: providerNames)
    }

    /// The workspace's flows by the credential ids their steps name (a step parameter
    /// `credential` holding the id, as `smtp.send` has), each list by flow name.
    private func flowsUsingCredentials(in workspaceID: String) async throws -> [String: [CredentialUsage.FlowReference]] {
        var users: [String: Set<CredentialUsage.FlowReference>] = [:]
        for flow in try await services.flowStore.flows(workspaceID: workspaceID) {
            for step in flow.steps {
                if case .object(let parameters) = step.parameters, case .string(let id)? = parameters["credential"] {
                    users[id, default: []].insert(CredentialUsage.FlowReference(id: flow.id, name: flow.name))
                }
            }
        }
        return users.mapValues { $0.sorted { ($0.name, $0.id) < ($1.name, $1.id) } }
    }

    /// Runs `body`, turning service errors into API errors.
}

/// The list: full credentials for admins, ``CredentialSummaryResponse`` for members.
struct CredentialListResponse<Item: Encodable>: ResponseEncodable {
    var credentials: [Item]
}

struct PresetsResponse: ResponseEncodable {
    var presets: [CredentialPreset]
}
