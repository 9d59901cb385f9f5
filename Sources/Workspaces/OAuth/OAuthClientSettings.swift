public import Foundation
public import Secrets
public import Vault

/// The OAuth clients the instance owner enters on the settings page for Google and Microsoft,
/// when the environment gives none: the client id as it is, the secret sealed by the vault (bound
/// to the instance and the provider, field `oauthClientSecret`), kept in the server settings
/// (`oauth.client.<provider>`), so they move with `db copy` and are re-sealed by `key rotate`.
public struct OAuthClientSettings: Sendable {
    /// The providers the settings page can give a client to: the built-in ones. A provider from the
    /// providers file carries its own.
    public static let providerIDs = ["google", "microsoft"]

    private let store: any WorkspaceStore
    private let vault: Vault

    public init(store: any WorkspaceStore, vault: Vault) {
        self.store = store
        self.vault = vault
    }

    /// What the settings page shows of a stored client: never the secret.
    public struct StoredClient: Sendable, Hashable {
        public var clientID: String
        public var hasSecret: Bool
    }

    /// The stored client of `providerID`, without opening its secret.
    public func stored(_ providerID: String) async throws -> StoredClient? {
        try await document(providerID).map { StoredClient(clientID: $0.clientId, hasSecret: true) }
    }

    /// The stored client of `providerID` with its secret opened, for a token request.
    public func client(_ providerID: String) async throws -> (id: String, secret: Secret)? {
        guard let document = try await document(providerID) else { return nil }
        do {
            return (document.clientId, try vault.open(try SealedSecret(encoded: document.secret), context: Self.context(providerID)))
        } catch {
            throw WorkspaceError(.vault, "The \(providerID) client secret could not be opened with the current keys")
        }
    }

    /// Stores a client for `providerID`, replacing the one before.
    ///
    /// - Throws: ``WorkspaceError`` naming `provider` (not a built-in provider), `clientId` or
    ///   `clientSecret` (1 to 512 visible characters, as providers issue them).
    public func set(_ providerID: String, clientID: String, secret: Secret) async throws {
        guard Self.providerIDs.contains(providerID) else {
            throw WorkspaceError(.notFound, field: "provider", "Only Google's and Microsoft's clients are set here")
        }
        guard OAuthTokenResponse.isToken(clientID, maximum: 512) else {
            throw WorkspaceError.invalid("clientId", "Client ID must be 1 to 512 visible characters without spaces")
        }
        guard secret.withRevealedValue({ OAuthTokenResponse.isToken($0, maximum: 512) }) else {
            throw WorkspaceError.invalid("clientSecret", "Client secret must be 1 to 512 visible characters without spaces")
        }
        let sealed: SealedSecret
        do {
            sealed = try vault.seal(secret, context: Self.context(providerID))
        } catch {
            throw WorkspaceError(.vault, "The client secret could not be sealed")
        }
        try await write(Document(clientId: clientID, secret: sealed.encoded), for: providerID)
    }

    /// Forgets the client of `providerID` (its sign-in button goes away; credentials connected
    /// with it fail their next refresh until a client is set again).
    public func remove(_ providerID: String) async throws {
        guard Self.providerIDs.contains(providerID) else {
            throw WorkspaceError(.notFound, field: "provider", "Only Google's and Microsoft's clients are set here")
        }
        try await store.setSetting(Self.key(providerID), to: "")
    }

    /// Re-seals every stored client secret under the vault's active key (key rotation); how many moved.
    public func resealAll() async throws -> Int {
        var moved = 0
        for providerID in Self.providerIDs {
            guard var document = try await document(providerID) else { continue }
            let sealed = try SealedSecret(encoded: document.secret)
            guard sealed.keyID != vault.keyRing.active.id else { continue }
            do {
                document.secret = try vault.reseal(sealed, context: Self.context(providerID)).encoded
            } catch {
                throw WorkspaceError(.vault, "The \(providerID) client secret could not be re-sealed: \(error)")
            }
            try await write(document, for: providerID)
            moved += 1
        }
        return moved
    }

    /// The vault keys the stored secrets are sealed with (checked at start against the key ring).
    public func sealedKeyIDs() async throws -> [String] {
        var ids: [String] = []
        for providerID in Self.providerIDs {
            if let document = try await document(providerID) { ids.append(try SealedSecret(encoded: document.secret).keyID) }
        }
        return ids
    }

    // MARK: - Storage

    private struct Document: Codable {
        var clientId: String
        var secret: String
    }

    static func key(_ providerID: String) -> String { "oauth.client.\(providerID)" }

    static func context(_ providerID: String) -> SealContext {
        SealContext(workspaceID: "instance", credentialID: providerID, field: "oauthClientSecret")
    }

    private func document(_ providerID: String) async throws -> Document? {
        guard let text = try await store.setting(Self.key(providerID)), !text.isEmpty else { return nil }
        do {
            return try JSONDecoder().decode(Document.self, from: Data(text.utf8))
        } catch {
            throw WorkspaceError(.vault, "The stored \(providerID) client is not readable")
        }
    }

    private func write(_ document: Document, for providerID: String) async throws {
        let data = try JSONEncoder().encode(document)
        try await store.setSetting(Self.key(providerID), to: String(decoding: data, as: UTF8.self))
    }
}
