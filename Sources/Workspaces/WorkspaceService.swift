import Crypto
public import Foundation
public import Secrets

/// Creates workspaces, issues their API tokens and answers "whose token is this?".
public struct WorkspaceService: Sendable {
    /// The settings key under which the admin token's hash is stored.
    static let adminTokenKey = "admin_token_sha256"

    private let store: any WorkspaceStore
    private let ids: IdentifierSource
    private let now: @Sendable () -> Date

    /// Creates the service over `store`.
    public init(store: any WorkspaceStore, ids: IdentifierSource = .system, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.ids = ids
        // Whole milliseconds: what the database keeps, so a response equals a later read.
        self.now = { Date(timeIntervalSince1970: (now().timeIntervalSince1970 * 1000).rounded(.down) / 1000) }
    }

    /// Creates a workspace and returns it with its API token, which is shown this once and stored
    /// only as a hash.
    public func create(name: String) async throws -> (workspace: Workspace, token: Secret) {
        try Self.validateName(name, field: "name")
        if try await store.workspace(named: name) != nil {
            throw WorkspaceError(.conflict, field: "name", "A workspace with this name already exists")
        }
        let workspace = Workspace(id: ids.makeID(prefix: "ws"), name: name, createdAt: now())
        let token = ids.makeToken()
        do {
            try await store.insertWorkspace(workspace, tokenHash: TokenHash.of(token))
        } catch StoreError.duplicate {
            throw WorkspaceError(.conflict, field: "name", "A workspace with this name already exists")
        }
        return (workspace, token)
    }

    /// The workspace with this id.
    public func workspace(id: String) async throws -> Workspace? {
        try await store.workspace(id: id)
    }

    /// Sets (or with `nil` removes) the cap on every send of the workspace; returns the workspace.
    public func setLimits(_ limits: RateLimits?, in workspaceID: String) async throws -> Workspace {
        let checked = try RateLimits.checked(limits)
        guard try await store.setWorkspaceLimits(checked, workspaceID: workspaceID), let workspace = try await store.workspace(id: workspaceID)
        else { throw WorkspaceError(.notFound, "Workspace not found") }
        return workspace
    }

    /// The workspace `token` belongs to, or `nil`.
    public func workspace(forToken token: Secret) async throws -> Workspace? {
        try await authenticate(token)?.workspace
    }

    /// The workspace and the API token `token` is, or `nil` (revoked, or never issued). Records the
    /// use when the last one recorded is over a minute old, so a busy token costs one write a
    /// minute, not one per request.
    public func authenticate(_ token: Secret) async throws -> (workspace: Workspace, token: APIToken)? {
        guard !token.isEmpty, let found = try await store.token(hash: TokenHash.of(token)) else { return nil }
        let now = now()
        if found.token.lastUsedAt.map({ now.timeIntervalSince($0) >= 60 }) ?? true {
            try await store.recordTokenUse(id: found.token.id, at: now)
        }
        return found
    }

    // MARK: API tokens

    /// Issues another API token for the workspace; the token is shown this once. `createdBy` is the
    /// token of the call that asked (`nil` from the CLI).
    public func createToken(name: String, in workspaceID: String, createdBy: String? = nil) async throws -> (token: APIToken, value: Secret) {
        try Self.validateName(name, field: "name")
        let token = APIToken(id: ids.makeID(prefix: "tok"), workspaceID: workspaceID, name: name, createdAt: now(), createdBy: createdBy)
        let value = ids.makeToken()
        do {
            try await store.insertToken(token, tokenHash: TokenHash.of(value))
        } catch StoreError.duplicate {
            throw WorkspaceError(.conflict, field: "name", "An API token with this name already exists in this workspace")
        }
        return (token, value)
    }

    /// The workspace's API tokens, oldest first (never their values).
    public func tokens(in workspaceID: String) async throws -> [APIToken] {
        try await store.tokens(workspaceID: workspaceID)
    }

    /// Revokes a token: from now on it is refused (401). Revoking the token of the request itself
    /// is allowed; the next request with it fails.
    public func revokeToken(_ id: String, in workspaceID: String) async throws {
        guard try await store.deleteToken(id: id, workspaceID: workspaceID) else {
            throw WorkspaceError(.notFound, "API token not found")
        }
    }

    /// Whether `token` is the admin token. Compares hashes in constant time.
    public func isAdmin(_ token: Secret) async throws -> Bool {
        guard !token.isEmpty, let stored = try await store.setting(Self.adminTokenKey) else { return false }
        return Self.constantTimeEqual(Array(stored.utf8), Array(TokenHash.of(token).utf8))
    }

    /// What first start created, to print once.
    public struct Bootstrap: Sendable {
        /// The admin token, when this start generated it (not when the environment set it).
        public var generatedAdminToken: Secret?
        /// The default workspace and its token, when this start created them.
        public var defaultWorkspace: (workspace: Workspace, token: Secret)?
    }

    /// Prepares a store on start: sets the admin token (from `adminToken`, else a new one if none
    /// is stored) and creates the default workspace if there are none.
    public func bootstrap(adminToken: Secret?) async throws -> Bootstrap {
        var result = Bootstrap()
        if let adminToken {
            // Stored as an unsalted hash like generated tokens, so it must be as hard to guess.
            guard adminToken.withRevealedValue({ $0.utf8.count >= 32 && !$0.contains(where: \.isWhitespace) }) else {
                throw WorkspaceError.invalid("POSTHORN_ADMIN_TOKEN", "Admin token must be at least 32 characters without spaces")
            }
            try await store.setSetting(Self.adminTokenKey, to: TokenHash.of(adminToken))
        } else if try await store.setting(Self.adminTokenKey) == nil {
            let token = ids.makeToken()
            try await store.setSetting(Self.adminTokenKey, to: TokenHash.of(token))
            result.generatedAdminToken = token
        }
        if try await store.workspaces().isEmpty {
            result.defaultWorkspace = try await create(name: "default")
        }
        return result
    }

    static func validateName(_ name: String, field: String) throws(WorkspaceError) {
        guard !name.isEmpty, name.count <= 100 else {
            throw WorkspaceError.invalid(field, "Name must be 1 to 100 characters")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw WorkspaceError.invalid(field, "Name contains forbidden characters")
        }
        guard name.trimmingCharacters(in: .whitespaces) == name else {
            throw WorkspaceError.invalid(field, "Name must not start or end with a space")
        }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
