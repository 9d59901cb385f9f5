public import Foundation

/// The stores in memory: tests, and the shape the SQL stores must match.
public actor InMemoryStore: WorkspaceStore, CredentialStore, DomainStore, SuppressionStore {
    private var workspacesByID: [String: Workspace] = [:]
    private var tokensByHash: [String: APIToken] = [:]
    private var settings: [String: String] = [:]
    private var credentialsByID: [String: SMTPCredential] = [:]
    private var credentialTests: [String: CredentialTestRecord] = [:]
    /// Sign-ins under way by state hash (``InMemoryStore+OAuth``).
    var oauthAuthorizations: [String: PendingOAuthAuthorization] = [:]
    // Sending domains and their keys (InMemoryStore+Domains.swift).
    var domainsByID: [String: SendingDomain] = [:]
    var dkimKeysByID: [String: DKIMKeyRecord] = [:]
    // Suppressed addresses by workspace and key (InMemoryStore+Suppressions.swift).
    var suppressionsByKey: [String: Suppression] = [:]
    // Users, memberships, sessions and invites (InMemoryStore+Users.swift).
    var usersByID: [String: (user: User, passwordHash: String)] = [:]
    var membershipsByKey: [String: (role: WorkspaceRole, joinedAt: Date)] = [:]
    var sessionsByHash: [String: BrowserSession] = [:]
    var invitesByHash: [String: (invite: Invite, used: Bool)] = [:]

    /// An empty store.
    public init() {}

    public func insertWorkspace(_ workspace: Workspace, tokenHash: String) throws {
        guard workspacesByID[workspace.id] == nil, !workspacesByID.values.contains(where: { $0.name == workspace.name }),
            tokensByHash[tokenHash] == nil
        else { throw StoreError.duplicate("name") }
        workspacesByID[workspace.id] = workspace
        tokensByHash[tokenHash] = APIToken(
            id: APIToken.defaultID(of: workspace.id), workspaceID: workspace.id, name: "default", createdAt: workspace.createdAt)
    }

    public func token(hash: String) -> (workspace: Workspace, token: APIToken)? {
        guard let token = tokensByHash[hash], let workspace = workspacesByID[token.workspaceID] else { return nil }
        return (workspace, token)
    }

    public func insertToken(_ token: APIToken, tokenHash: String) throws {
        guard !tokensByHash.values.contains(where: { $0.workspaceID == token.workspaceID && $0.name == token.name }),
            tokensByHash[tokenHash] == nil
        else { throw StoreError.duplicate("name") }
        tokensByHash[tokenHash] = token
    }

    public func tokens(workspaceID: String) -> [APIToken] {
        tokensByHash.values.filter { $0.workspaceID == workspaceID }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func deleteToken(id: String, workspaceID: String) -> Bool {
        guard let hash = tokensByHash.first(where: { $0.value.id == id && $0.value.workspaceID == workspaceID })?.key else {
            return false
        }
        tokensByHash[hash] = nil
        return true
    }

    public func recordTokenUse(id: String, at date: Date) {
        guard let hash = tokensByHash.first(where: { $0.value.id == id })?.key else { return }
        tokensByHash[hash]?.lastUsedAt = date
    }

    public func workspace(id: String) -> Workspace? { workspacesByID[id] }

    public func setWorkspaceLimits(_ limits: RateLimits?, workspaceID: String) -> Bool {
        guard workspacesByID[workspaceID] != nil else { return false }
        workspacesByID[workspaceID]?.limits = limits
        return true
    }

    public func workspace(named name: String) -> Workspace? {
        workspacesByID.values.first { $0.name == name }
    }

    public func workspaces() -> [Workspace] {
        workspacesByID.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func setting(_ key: String) -> String? { settings[key] }

    public func setSetting(_ key: String, to value: String) { settings[key] = value }

    public func insertCredential(_ credential: SMTPCredential) throws {
        guard self.credential(named: credential.name, workspaceID: credential.workspaceID) == nil else {
            throw StoreError.duplicate("name")
        }
        credentialsByID[credential.id] = credential
    }

    public func credential(id: String, workspaceID: String) -> SMTPCredential? {
        credentialsByID[id].flatMap { $0.workspaceID == workspaceID ? $0 : nil }
    }

    public func credential(named name: String, workspaceID: String) -> SMTPCredential? {
        credentialsByID.values.first { $0.workspaceID == workspaceID && $0.name == name }
    }

    public func credentials(workspaceID: String) -> [SMTPCredential] {
        credentialsByID.values.filter { $0.workspaceID == workspaceID }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    public func updateCredential(_ credential: SMTPCredential) throws -> Bool {
        guard let stored = self.credential(id: credential.id, workspaceID: credential.workspaceID) else { return false }
        if let other = self.credential(named: credential.name, workspaceID: credential.workspaceID), other.id != credential.id {
            throw StoreError.duplicate("name")
        }
        guard stored.version == credential.version - 1 else { throw StoreError.versionConflict }
        credentialsByID[credential.id] = credential
        return true
    }

    public func deleteCredential(id: String, workspaceID: String) -> Bool {
        guard credential(id: id, workspaceID: workspaceID) != nil else { return false }
        credentialsByID[id] = nil
        credentialTests[id] = nil
        return true
    }

    public func recordTest(_ record: CredentialTestRecord, credentialID: String, workspaceID: String) {
        guard credential(id: credentialID, workspaceID: workspaceID) != nil else { return }
        credentialTests[credentialID] = record
    }

    public func lastTests(workspaceID: String) -> [String: CredentialTestRecord] {
        credentialTests.filter { credential(id: $0.key, workspaceID: workspaceID) != nil }
    }

    public func allCredentials() -> [SMTPCredential] {
        credentialsByID.values.sorted { $0.id < $1.id }
    }

    /// One instance, whose refreshes are already one at a time: reads, runs `body`, stores its result.
    public func withCredentialLocked<Result: Sendable>(
        id: String, workspaceID: String, _ body: @escaping @Sendable (SMTPCredential) async throws -> (SMTPCredential?, Result)
    ) async throws -> Result? {
        guard let stored = credential(id: id, workspaceID: workspaceID) else { return nil }
        let (changed, result) = try await body(stored)
        if let changed { _ = try updateCredential(changed) }
        return result
    }
}
