public import Foundation

/// A person who signs in to the web app.
public struct User: Sendable, Hashable, Identifiable {
    /// `usr_` followed by random characters.
    public var id: String
    /// Lower-cased; unique on the instance.
    public var email: String
    public var name: String
    /// The first account, made through the one-time setup link (or the CLI): creates workspaces
    /// and manages the instance.
    public var isOwner: Bool
    public var createdAt: Date

    /// Creates a user value.
    public init(id: String, email: String, name: String, isOwner: Bool, createdAt: Date) {
        self.id = id
        self.email = email
        self.name = name
        self.isOwner = isOwner
        self.createdAt = createdAt
    }
}

/// What a user may do in a workspace.
public enum WorkspaceRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// Manages credentials, members and API tokens, and everything a member does.
    case admin
    /// Builds and runs flows; sees only each credential's id and name.
    case member
}

/// A user's place in a workspace.
public struct Membership: Sendable, Hashable {
    public var userID: String
    public var workspace: Workspace
    public var role: WorkspaceRole
    public var joinedAt: Date

    public init(userID: String, workspace: Workspace, role: WorkspaceRole, joinedAt: Date) {
        self.userID = userID
        self.workspace = workspace
        self.role = role
        self.joinedAt = joinedAt
    }
}

/// What ``UserStore/changeMembership(userID:workspaceID:to:)`` did.
public enum MembershipChange: Sendable, Hashable {
    case changed
    /// The user is not a member of the workspace.
    case notMember
    /// Refused: the user is the workspace's last admin.
    case lastAdmin
}

/// A member as a workspace's admins see them.
public struct Member: Sendable, Hashable {
    public var user: User
    public var role: WorkspaceRole
    public var joinedAt: Date

    public init(user: User, role: WorkspaceRole, joinedAt: Date) {
        self.user = user
        self.role = role
        self.joinedAt = joinedAt
    }
}

/// A signed-in browser: stored as a hash of its 256-bit id, with an idle and an absolute expiry.
public struct BrowserSession: Sendable, Hashable {
    public var userID: String
    public var createdAt: Date
    public var lastSeenAt: Date
    /// The session ends at this time whatever its use.
    public var expiresAt: Date

    public init(userID: String, createdAt: Date, lastSeenAt: Date, expiresAt: Date) {
        self.userID = userID
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
    }
}

/// A one-time invitation to join a workspace.
public struct Invite: Sendable, Hashable, Identifiable {
    public var id: String
    public var workspaceID: String
    public var role: WorkspaceRole
    /// When set, only this address may accept it.
    public var email: String?
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date

    public init(
        id: String, workspaceID: String, role: WorkspaceRole, email: String?, createdBy: String, createdAt: Date, expiresAt: Date
    ) {
        self.id = id
        self.workspaceID = workspaceID
        self.role = role
        self.email = email
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Where users, their memberships, sessions and invites live. SQL in `Storage`, memory in
/// ``InMemoryStore``; the same contract tests run on both.
public protocol UserStore: Sendable {
    /// Stores a new user with the bcrypt hash of their password; `duplicate("email")` if taken,
    /// `duplicate("owner")` for a second owner (there is one instance owner, even when two
    /// setups race).
    func insertUser(_ user: User, passwordHash: String) async throws
    func user(id: String) async throws -> User?
    /// The user with this (lower-cased) email and their password hash.
    func user(email: String) async throws -> (user: User, passwordHash: String)?
    /// Every user, by email.
    func users() async throws -> [User]
    func updatePasswordHash(userID: String, to hash: String) async throws -> Bool
    /// Whether the instance owner exists.
    func hasOwner() async throws -> Bool

    /// Adds or changes a membership.
    func setMembership(userID: String, workspaceID: String, role: WorkspaceRole, at date: Date) async throws
    /// Changes a member's role, or removes them (`role` `nil`), in one step with the check that
    /// the workspace keeps an admin: two admins stepping down at once cannot both succeed.
    func changeMembership(userID: String, workspaceID: String, to role: WorkspaceRole?) async throws -> MembershipChange
    /// A user's workspaces, by name.
    func memberships(userID: String) async throws -> [Membership]
    /// A workspace's members, by email.
    func members(workspaceID: String) async throws -> [Member]

    func insertSession(idHash: String, session: BrowserSession) async throws
    func session(idHash: String) async throws -> BrowserSession?
    func touchSession(idHash: String, at date: Date) async throws
    func deleteSession(idHash: String) async throws
    /// Ends every session of a user (a password reset).
    func deleteSessions(userID: String) async throws
    /// Deletes sessions past their expiry; returns how many.
    func deleteExpiredSessions(now: Date, idleLimit: Duration) async throws -> Int

    func insertInvite(_ invite: Invite, tokenHash: String) async throws
    /// The unexpired, unused invite whose token hashes to `tokenHash`.
    func invite(tokenHash: String, now: Date) async throws -> Invite?
    /// Marks the invite used; `false` if it was used already (two accepts racing).
    func useInvite(tokenHash: String, at date: Date) async throws -> Bool
}
