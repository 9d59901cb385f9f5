public import Foundation
public import Secrets
import SMTPCore
public import Vault

/// Connects SMTP credentials by signing in with an OAuth 2.0 provider, and keeps their access
/// tokens fresh.
///
/// The sign-in (``start(_:session:workspaceID:userID:)`` then ``complete(_:session:workspaceID:)``)
/// is the authorization-code flow with PKCE (S256) and a single-use `state` bound to the browser
/// session and the workspace that started it: a state completed anywhere else is refused, so
/// nobody can make a victim consent into another workspace. The pending sign-in lives in the
/// database (any instance may receive the callback); its PKCE verifier is derived from the state
/// with a vault key rather than stored.
///
/// The refresh token is sealed in the credential (the vault field `oauth-refresh-token`); access
/// tokens are kept in memory only (``accessToken(for:)``).
public final class OAuthService: Sendable {
    /// The providers by id, as the operator configured them (``OAuthProviderConfiguration``).
    public let providers: [String: OAuthProvider]
    let credentials: any CredentialStore
    let authorizations: any OAuthAuthorizationStore
    let vault: Vault
    let endpoint: any OAuthTokenEndpoint
    /// `<public URL>/settings/oauth/callback`: what the operator registers with each provider.
    public let redirectURI: String
    let ids: IdentifierSource
    let now: @Sendable () -> Date
    let tokens = TokenCache()
    /// Told of every refresh by outcome (`ok`, `refused`, `failed`): the server counts them.
    let onRefresh: @Sendable (String) -> Void
    /// Clients the owner set on the settings page, for built-in providers the environment gives none.
    public let clients: OAuthClientSettings?

    /// How long a sign-in may take from *Sign in with …* to the callback.
    public static let authorizationLifetime: TimeInterval = 600
    /// The vault purpose of PKCE verifiers.
    static let verifierPurpose = "posthorn.oauth-pkce-verifier.v1"

    public init(
        providers: [String: OAuthProvider], credentials: any CredentialStore, authorizations: any OAuthAuthorizationStore,
        vault: Vault, endpoint: any OAuthTokenEndpoint, redirectURI: String, ids: IdentifierSource = .system,
        now: @escaping @Sendable () -> Date = { Date() }, onRefresh: @escaping @Sendable (String) -> Void = { _ in },
        clients: OAuthClientSettings? = nil
    ) {
        self.clients = clients
        self.providers = providers
        self.credentials = credentials
        self.authorizations = authorizations
        self.vault = vault
        self.endpoint = endpoint
        self.redirectURI = redirectURI
        self.ids = ids
        self.now = { Date(timeIntervalSince1970: (now().timeIntervalSince1970 * 1000).rounded(.down) / 1000) }
        self.onRefresh = onRefresh
    }

    /// Every provider's name by id, for showing which one a credential signs in with.
    public var providerNames: [String: String] {
        providers.mapValues(\.name)
    }

    /// The provider `id` with its client: the environment's or the file's, else the one the owner
    /// set on the settings page (read at each use, so every instance sees a change at once).
    public func provider(_ id: String) async -> OAuthProvider? {
        guard var provider = providers[id] else { return nil }
        if !provider.isConfigured, let clients, let client = try? await clients.client(id) {
            provider.clientID = client.id
            provider.clientSecret = client.secret
        }
        return provider
    }

    /// The providers a person may sign in with (those with a client), by name.
    public func configuredProviders() async -> [OAuthProvider] {
        var configured: [OAuthProvider] = []
        for id in providers.keys {
            if let provider = await provider(id), provider.isConfigured { configured.append(provider) }
        }
        return configured.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    // MARK: - Starting

    /// What *Sign in with …* asks for: a new credential with this provider and name, or connecting
    /// an existing OAuth credential again.
    public enum StartRequest: Sendable, Hashable {
        case new(providerID: String, name: String)
        case reconnect(credentialID: String)
    }

    /// Records a sign-in under way and returns the provider's authorization URL to send the browser to.
    ///
    /// - Throws: ``WorkspaceError`` naming `provider` (unknown or without a client), `name`
    ///   (invalid or taken) or `credentialId` (no such OAuth credential in the workspace).
    public func start(_ request: StartRequest, session: Secret, workspaceID: String, userID: String) async throws -> URL {
        let provider: OAuthProvider
        var name: String?
        var credentialID: String?
        switch request {
        case .new(let providerID, let credentialName):
            provider = try await configuredProvider(providerID, field: "provider")
            try WorkspaceService.validateName(credentialName, field: "name")
            if try await credentials.credential(named: credentialName, workspaceID: workspaceID) != nil {
                throw WorkspaceError(.conflict, field: "name", "A credential with this name already exists in this workspace")
            }
            name = credentialName
        case .reconnect(let id):
            guard let stored = try await credentials.credential(id: id, workspaceID: workspaceID), let link = stored.oauth else {
                throw WorkspaceError.invalid("credentialId", "No credential with this id signs in with OAuth in this workspace")
            }
            provider = try await configuredProvider(link.providerID, field: "credentialId")
            credentialID = id
        }
        let state = Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max) })
        let keyID = vault.keyRing.active.id
        guard let verifier = verifier(for: state, keyID: keyID),
            let url = provider.authorizationURL(redirectURI: redirectURI, state: state, pkce: PKCE(verifier: verifier))
        else { throw WorkspaceError(.vault, "The sign-in could not be prepared") }
        let started = now()
        _ = try await authorizations.forgetAuthorizations(before: started)
        try await authorizations.insertAuthorization(PendingOAuthAuthorization(
            stateHash: TokenHash.of(Secret(state)), sessionHash: TokenHash.of(session), workspaceID: workspaceID, userID: userID,
            providerID: provider.id, credentialName: name, credentialID: credentialID, keyID: keyID, createdAt: started,
            expiresAt: started.addingTimeInterval(Self.authorizationLifetime)))
        return url
    }

    private func configuredProvider(_ id: String, field: String) async throws -> OAuthProvider {
        guard let provider = await provider(id) else { throw WorkspaceError.invalid(field, "No OAuth provider \(id.debugDescription) is configured") }
        guard provider.isConfigured else {
            throw WorkspaceError.invalid(field, "\(provider.name) sign-in is not set up on this server (the operator gives it a client id and secret)")
        }
        return provider
    }

    /// The PKCE verifier of `state`: 43 base64url characters, as RFC 7636 §4.1 asks.
    func verifier(for state: String, keyID: String) -> String? {
        vault.derivedBytes(purpose: Self.verifierPurpose, input: state, keyID: keyID).map(Base64URL.encode)
    }
}
