public import Foundation

/// A sign-in with an OAuth provider under way: made when someone presses *Sign in with …*, taken
/// (once) when the provider sends the browser back.
///
/// Found by the hash of its `state`, which only the browser and the provider ever see; bound to
/// the hash of the browser session and the workspace that started it, so the callback completes
/// only where it began. The PKCE verifier is not kept: it is derived again from the state with the
/// vault key named by ``keyID`` (``OAuthService``).
public struct PendingOAuthAuthorization: Sendable, Hashable {
    public var stateHash: String
    public var sessionHash: String
    public var workspaceID: String
    public var userID: String
    public var providerID: String
    /// The name for a new credential; `nil` when an existing one is connected again.
    public var credentialName: String?
    /// The credential connected again; `nil` for a new one.
    public var credentialID: String?
    /// The vault key the PKCE verifier was derived with.
    public var keyID: String
    public var createdAt: Date
    public var expiresAt: Date

    public init(
        stateHash: String, sessionHash: String, workspaceID: String, userID: String, providerID: String, credentialName: String?,
        credentialID: String?, keyID: String, createdAt: Date, expiresAt: Date
    ) {
        self.stateHash = stateHash
        self.sessionHash = sessionHash
        self.workspaceID = workspaceID
        self.userID = userID
        self.providerID = providerID
        self.credentialName = credentialName
        self.credentialID = credentialID
        self.keyID = keyID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Where sign-ins under way are kept: in the database (table `oauth_authorizations`), so the
/// callback may reach any instance; ``InMemoryStore`` for tests.
public protocol OAuthAuthorizationStore: Sendable {
    func insertAuthorization(_ authorization: PendingOAuthAuthorization) async throws
    /// Removes and returns the sign-in whose state hashes to `stateHash`: a state is used once,
    /// however many callbacks race with it (one of them gets it).
    func takeAuthorization(stateHash: String) async throws -> PendingOAuthAuthorization?
    /// Forgets sign-ins that expired before `cutoff`; returns how many.
    func forgetAuthorizations(before cutoff: Date) async throws -> Int
}
