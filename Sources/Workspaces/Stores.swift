public import Foundation

/// Where workspaces, their token hashes and server settings live. Implemented by `Storage` over
/// SQL (SQLite now, PostgreSQL later) and by ``InMemoryStore`` for tests.
public protocol WorkspaceStore: Sendable {
    /// Stores a new workspace with its first API token (named `default`, id
    /// ``APIToken/defaultID(of:)``), given as its hash.
    func insertWorkspace(_ workspace: Workspace, tokenHash: String) async throws
    /// The token that hashes to `tokenHash`, with its workspace.
    func token(hash: String) async throws -> (workspace: Workspace, token: APIToken)?
    /// Stores another token of a workspace. Throws ``StoreError/duplicate(_:)`` (`"name"`) when
    /// the workspace has a token of that name.
    func insertToken(_ token: APIToken, tokenHash: String) async throws
    /// A workspace's tokens, oldest first.
    func tokens(workspaceID: String) async throws -> [APIToken]
    /// Revokes a token; `false` when the workspace has none with this id.
    func deleteToken(id: String, workspaceID: String) async throws -> Bool
    /// Records that the token was used at `date`.
    func recordTokenUse(id: String, at date: Date) async throws
    func workspace(id: String) async throws -> Workspace?
    /// Sets (or with `nil` removes) the workspace's cap; `false` when there is no such workspace.
    func setWorkspaceLimits(_ limits: RateLimits?, workspaceID: String) async throws -> Bool
    func workspace(named name: String) async throws -> Workspace?
    /// Every workspace, oldest first.
    func workspaces() async throws -> [Workspace]
    /// A server setting (the admin token hash).
    func setting(_ key: String) async throws -> String?
    func setSetting(_ key: String, to value: String) async throws
}

extension WorkspaceStore {
    /// The workspace whose token hashes to `tokenHash`.
    public func workspace(tokenHash: String) async throws -> Workspace? {
        try await token(hash: tokenHash)?.workspace
    }
}

/// Where SMTP credentials live. Every lookup is scoped to a workspace, so no query can return
/// another workspace's credential.
public protocol CredentialStore: Sendable {
    /// Stores a new credential. Throws ``StoreError/duplicate(_:)`` if the name is taken.
    func insertCredential(_ credential: SMTPCredential) async throws
    func credential(id: String, workspaceID: String) async throws -> SMTPCredential?
    func credential(named name: String, workspaceID: String) async throws -> SMTPCredential?
    /// A workspace's credentials, by name.
    func credentials(workspaceID: String) async throws -> [SMTPCredential]
    /// Replaces a stored credential (same id and workspace) whose stored version is
    /// `credential.version - 1`; `false` if it no longer exists. Throws
    /// ``StoreError/versionConflict`` when it was changed since that version was read.
    func updateCredential(_ credential: SMTPCredential) async throws -> Bool
    /// `false` if there was nothing to delete.
    func deleteCredential(id: String, workspaceID: String) async throws -> Bool
    /// Every credential of every workspace: key rotation re-seals them all.
    func allCredentials() async throws -> [SMTPCredential]
    /// Keeps the outcome of a stored credential's latest connection test (replacing the one
    /// before); nothing when the workspace has no such credential. Deleting the credential
    /// deletes it.
    func recordTest(_ record: CredentialTestRecord, credentialID: String, workspaceID: String) async throws
    /// The latest test of each of a workspace's credentials that has one, by credential id.
    func lastTests(workspaceID: String) async throws -> [String: CredentialTestRecord]
    /// Runs `body` with the stored credential while no other instance runs it for the same
    /// credential (PostgreSQL: the row locked `FOR NO KEY UPDATE` in one transaction; SQLite and memory
    /// serve one instance, whose callers are already one at a time). The credential `body`
    /// returns, if any, is stored (its `version` one above the stored one) before the lock ends.
    /// `nil` when the workspace has no such credential.
    ///
    /// How an OAuth refresh token is used and its rotated successor stored without two instances
    /// racing with one token.
    func withCredentialLocked<Result: Sendable>(
        id: String, workspaceID: String, _ body: @escaping @Sendable (SMTPCredential) async throws -> (SMTPCredential?, Result)
    ) async throws -> Result?
}

/// How a stored credential's latest *Test connection* went, for the Credentials page.
public struct CredentialTestRecord: Sendable, Hashable {
    public var ok: Bool
    public var testedAt: Date
    /// The failure's code (`EAUTH`, `ETLS`…), `nil` when it passed.
    public var code: String?
    /// The TLS version negotiated, `nil` for plaintext or a failure before TLS.
    public var tlsVersion: String?

    public init(ok: Bool, testedAt: Date, code: String?, tlsVersion: String?) {
        self.ok = ok
        self.testedAt = testedAt
        self.code = code
        self.tlsVersion = tlsVersion
    }
}

/// A constraint the store enforces.
public enum StoreError: Error, Sendable, Hashable {
    /// A unique column (named) already holds the value.
    case duplicate(String)
    /// The row changed since the version the update was made from.
    case versionConflict
}

/// Where a workspace's suppressed addresses are kept, keyed by ``Suppression/key(of:)``.
public protocol SuppressionStore: Sendable {
    /// Adds the address; `false` (and nothing changed) when the workspace has it already.
    func insertSuppression(_ suppression: Suppression) async throws -> Bool
    /// The workspace's suppression of `address` (any form); `nil` when it has none.
    func suppression(address: String, workspaceID: String) async throws -> Suppression?
    /// The workspace's suppressions, newest first, at most `limit`.
    func suppressions(workspaceID: String, limit: Int) async throws -> [Suppression]
    /// Which of `addresses` (any form) the workspace suppresses, as their keys.
    func suppressedKeys(workspaceID: String, among addresses: [String]) async throws -> Set<String>
    /// Removes the address; `false` when it was not suppressed.
    func deleteSuppression(address: String, workspaceID: String) async throws -> Bool
}

/// Where a workspace's sending domains and their DKIM keys are kept.
public protocol DomainStore: Sendable {
    /// Stores a new domain (without keys). Throws ``StoreError/duplicate(_:)`` (`"domain"`) when
    /// the workspace has it already.
    func insertDomain(_ domain: SendingDomain) async throws
    /// The domain with its keys; `nil` when the workspace has no such domain.
    func domain(id: String, workspaceID: String) async throws -> SendingDomain?
    /// The workspace's domain named exactly `name` (lowercase), with its keys.
    func domain(named name: String, workspaceID: String) async throws -> SendingDomain?
    /// A workspace's domains by name, each with its keys.
    func domains(workspaceID: String) async throws -> [SendingDomain]
    /// Deletes the domain and its keys; `false` if there was nothing to delete.
    func deleteDomain(id: String, workspaceID: String) async throws -> Bool
    /// Adds a key to its domain. Throws ``StoreError/duplicate(_:)`` (`"selector"`) when the domain
    /// has a key with that selector.
    func insertDKIMKey(_ key: DKIMKeyRecord) async throws
    /// Replaces these stored keys' `active`, `activated_at` and sealed private key, all or none.
    func updateDKIMKeys(_ keys: [DKIMKeyRecord]) async throws
    /// `false` if the domain has no such key.
    func deleteDKIMKey(id: String, domainID: String, workspaceID: String) async throws -> Bool
    /// Every key of every workspace: key rotation re-seals them all.
    func allDKIMKeys() async throws -> [DKIMKeyRecord]
}
