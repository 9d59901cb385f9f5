import Foundation
import HTTPTypes
import Hummingbird
import Secrets
import SMTPCore
import Workspaces

/// `/api/v1/credentials/oauth/…`: connecting a credential by signing in with Google, Microsoft or
/// a provider from the operator's file.
///
/// `start` and `complete` need a browser session (a bearer token gets 403 `session_required`): the
/// sign-in is bound to the session that started it, and completes only there. The provider sends
/// the browser to `/settings/oauth/callback`, a page of the web app, whose script posts the code
/// and state to `complete` — a same-origin request, so the `SameSite=Strict` session cookie comes
/// with it (the provider's redirect itself is cross-site and carries no cookie).
struct OAuthRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.get("credentials/oauth/providers") { _, context in
            _ = try context.requireWorkspace()
            return ProvidersResponse(providers: (await services.oauth?.configuredProviders() ?? []).map(ProviderBody.init))
        }
        group.post("credentials/oauth/start") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let (session, user) = try Self.requireSession(context)
            let body = try await JSONBody.decode(StartBody.self, from: request, context: context)
            let oauth = try Self.require(services.oauth)
            let start: OAuthService.StartRequest
            switch (body.provider, body.name, body.credentialId) {
            case (let provider?, let name?, nil): start = .new(providerID: provider, name: name)
            case (nil, nil, let id?): start = .reconnect(credentialID: id)
            case (_, _, .some):
                throw APIError(.unprocessableContent, code: "validation_failed", field: "credentialId",
                               "Send credentialId alone to connect a credential again, or provider and name for a new one")
            case (nil, _, nil):
                throw APIError(.unprocessableContent, code: "validation_failed", field: "provider", "Provider is required")
            case (_, nil, nil):
                throw APIError(.unprocessableContent, code: "validation_failed", field: "name", "Name is required")
            }
            let url = try await oauth.start(start, session: session, workspaceID: workspace.id, userID: user)
            return StartResponse(authorizeURL: url.absoluteString)
        }
        group.post("credentials/oauth/complete") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let (session, _) = try Self.requireSession(context)
            let body = try await JSONBody.decode(CompleteBody.self, from: request, context: context)
            let oauth = try Self.require(services.oauth)
            guard body.code != nil || body.error != nil else {
                throw APIError(.unprocessableContent, code: "validation_failed", field: "code", "Send the code (or the error) the provider sent back")
            }
            let (credential, created) = try await oauth.complete(
                OAuthService.Callback(state: body.state, code: body.code.map(Secret.init), error: body.error),
                session: session, workspaceID: workspace.id)
            let response = CredentialResponse(
                credential, usage: CredentialUsage(lastTest: nil, usedBy: []), providerNames: oauth.providerNames)
            return EditedResponse(
                status: created ? .created : .ok, headers: created ? [.location: "/api/v1/credentials/\(credential.id)"] : [:],
                response: response)
        }
    }

    /// The instance owner's page: Google's and Microsoft's clients when the environment gives none.
    func registerClients(on group: RouterGroup<PosthornRequestContext>) {
        group.get("oauth-clients") { _, context in
            try context.requireOwner()
            return try await clientsResponse()
        }
        group.put("oauth-clients/:provider") { request, context in
            try context.requireOwner()
            let oauth = try Self.require(services.oauth)
            let provider = try context.parameters.require("provider")
            let body = try await JSONBody.decode(ClientBody.self, from: request, context: context)
            if oauth.providers[provider]?.isConfigured == true {
                throw APIError(.conflict, code: "set_by_environment", field: "provider",
                               "This provider's client is set by the server's environment or providers file; change it there")
            }
            guard let clients = oauth.clients else { throw WorkspaceError(.notFound, field: "provider", "OAuth clients cannot be set here") }
            try await clients.set(provider, clientID: body.clientId, secret: Secret(body.clientSecret))
            return try await clientsResponse()
        }
        group.delete("oauth-clients/:provider") { _, context in
            try context.requireOwner()
            let oauth = try Self.require(services.oauth)
            let provider = try context.parameters.require("provider")
            guard let clients = oauth.clients else { throw WorkspaceError(.notFound, field: "provider", "OAuth clients cannot be set here") }
            try await clients.remove(provider)
            return HTTPResponse.Status.noContent
        }
    }

    private func clientsResponse() async throws -> ClientsResponse {
        let oauth = try Self.require(services.oauth)
        var clients: [ClientStatus] = []
        for id in OAuthClientSettings.providerIDs {
            guard let provider = oauth.providers[id] else { continue }
            if provider.isConfigured {
                clients.append(ClientStatus(provider: id, name: provider.name, source: "environment", clientId: provider.clientID, hasSecret: true))
            } else if let stored = try await oauth.clients?.stored(id) {
                clients.append(ClientStatus(provider: id, name: provider.name, source: "settings", clientId: stored.clientID, hasSecret: stored.hasSecret))
            } else {
                clients.append(ClientStatus(provider: id, name: provider.name, source: "none", clientId: nil, hasSecret: false))
            }
        }
        return ClientsResponse(redirectURI: oauth.redirectURI, clients: clients)
    }

    struct ClientsResponse: ResponseEncodable {
        /// What to register with each provider as the redirect URI.
        var redirectURI: String
        var clients: [ClientStatus]
    }

    struct ClientStatus: Encodable {
        var provider: String
        var name: String
        /// `environment` (the server's variables or providers file; read-only here), `settings`, `none`.
        var source: String
        @ExplicitNull var clientId: String?
        var hasSecret: Bool
    }

    struct ClientBody: Decodable {
        var clientId: String
        var clientSecret: String
    }

    static func requireSession(_ context: PosthornRequestContext) throws -> (Secret, String) {
        guard let session = context.sessionID, let user = context.user else {
            throw APIError(.forbidden, code: "session_required", "Signing in with a provider needs a browser session, not an API token")
        }
        return (session, user.id)
    }

    static func require(_ oauth: OAuthService?) throws -> OAuthService {
        guard let oauth else { throw APIError(.unprocessableContent, code: "validation_failed", field: "provider", "OAuth sign-in is not set up on this server") }
        return oauth
    }

    struct ProvidersResponse: ResponseEncodable {
        var providers: [ProviderBody]
    }

    struct ProviderBody: Encodable {
        var id: String
        var name: String
        var smtpHost: String
        var smtpPort: Int
        var security: String

        init(_ provider: OAuthProvider) {
            id = provider.id
            name = provider.name
            smtpHost = provider.smtpHost
            smtpPort = provider.smtpPort
            security = provider.security.rawValue
        }
    }

    struct StartBody: Decodable {
        var provider: String?
        var name: String?
        var credentialId: String?
    }

    struct StartResponse: ResponseEncodable {
        var authorizeURL: String
    }

    struct CompleteBody: Decodable {
        var state: String
        var code: String?
        var error: String?
        var errorDescription: String?
    }
}
