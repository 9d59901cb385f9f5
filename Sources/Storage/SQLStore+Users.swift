public import Foundation
import SQLKit
public import Workspaces

extension SQLStore: UserStore {
    /// Stores a new user; `duplicate("email")` when the email is taken, `duplicate("owner")` for
    /// a second owner (the partial unique index `users_one_owner` settles two racing setups).
    public func insertUser(_ user: User, passwordHash: String) async throws {
        if user.isOwner, try await hasOwner() { throw StoreError.duplicate("owner") }
        let taken = try await database.raw("SELECT id FROM users WHERE id = \(bind: user.id) OR email = \(bind: user.email)").first()
        guard taken == nil else { throw StoreError.duplicate("email") }
        do {
            try await database.raw("""
                INSERT INTO users (id, email, name, password_hash, is_owner, created_at)
                VALUES (\(bind: user.id), \(bind: user.email), \(bind: user.name), \(bind: passwordHash), \(bind: user.isOwner), \
                \(bind: user.createdAt.millisecondsSince1970))
                """).run()
        } catch let error where UniqueViolation.matches(error) {
            let ownerTaken = user.isOwner ? try await hasOwner() : false
            throw StoreError.duplicate(ownerTaken ? "owner" : "email")
        }
    }

    public func hasOwner() async throws -> Bool {
        try await database.raw("SELECT id FROM users WHERE is_owner = \(bind: true) LIMIT 1").first() != nil
    }

    public func user(id: String) async throws -> User? {
        try await database.raw("SELECT \(Self.userColumns) FROM users WHERE id = \(bind: id)").first().map(Self.user(from:))
    }

    public func user(email: String) async throws -> (user: User, passwordHash: String)? {
        guard let row = try await database.raw("""
            SELECT \(Self.userColumns), password_hash FROM users WHERE email = \(bind: email)
            """).first()
        else { return nil }
        return (try Self.user(from: row), try StoredRow(row, table: "users").value("password_hash"))
    }

    public func users() async throws -> [User] {
        try await database.raw("SELECT \(Self.userColumns) FROM users ORDER BY email, id").all().map(Self.user(from:))
    }

    public func updatePasswordHash(userID: String, to hash: String) async throws -> Bool {
        !(try await database.raw("""
            UPDATE users SET password_hash = \(bind: hash) WHERE id = \(bind: userID) RETURNING id
            """).all().isEmpty)
    }


    // MARK: Memberships

    /// Adds or changes a membership; the join date stays the first one. Nothing happens when the
    /// user or the workspace does not exist (the foreign keys refuse the row).
    public func setMembership(userID: String, workspaceID: String, role: WorkspaceRole, at date: Date) async throws {
        let updated = try await database.raw("""
            UPDATE memberships SET role = \(bind: role.rawValue) WHERE user_id = \(bind: userID) AND workspace_id = \(bind: workspaceID) RETURNING user_id
            """).all()
        guard updated.isEmpty else { return }
        do {
            try await database.raw("""
                INSERT INTO memberships (user_id, workspace_id, role, joined_at)
                SELECT u.id, w.id, \(bind: role.rawValue), \(bind: date.millisecondsSince1970)
                FROM users u, workspaces w WHERE u.id = \(bind: userID) AND w.id = \(bind: workspaceID)
                """).run()
        } catch let error where UniqueViolation.matches(error) {
            // Inserted by a concurrent call meanwhile: set the role on that row instead.
            try await database.raw("""
                UPDATE memberships SET role = \(bind: role.rawValue) WHERE user_id = \(bind: userID) AND workspace_id = \(bind: workspaceID)
                """).run()
        }
    }

    /// Changes or removes a membership in one transaction with the last-admin check. (SQLite's
    /// transaction has the connection to itself; on PostgreSQL the workspace's row is locked
    /// first, so two demotions of its last two admins run one after the other.)
    public func changeMembership(userID: String, workspaceID: String, to role: WorkspaceRole?) async throws -> MembershipChange {
        let dialect = self.dialect
        return try await transaction { session in
            if dialect == .postgresql {
                try await session.raw("SELECT id FROM workspaces WHERE id = \(bind: workspaceID)\(dialect.forUpdate)").run()
            }
            guard let row = try await session.raw("""
                SELECT role FROM memberships WHERE user_id = \(bind: userID) AND workspace_id = \(bind: workspaceID)
                """).first()
            else { return .notMember }
            let current: WorkspaceRole = try StoredRow(row, table: "memberships", idColumn: "role").rawValue("role")
            if current == .admin, role != .admin {
                let admins = try await session.raw("""
                    SELECT user_id FROM memberships WHERE workspace_id = \(bind: workspaceID) AND role = 'admin' LIMIT 2
                    """).all()
                if admins.count < 2 { return .lastAdmin }
            }
            if let role {
                try await session.raw("""
                    UPDATE memberships SET role = \(bind: role.rawValue) WHERE user_id = \(bind: userID) AND workspace_id = \(bind: workspaceID)
                    """).run()
            } else {
                try await session.raw("""
                    DELETE FROM memberships WHERE user_id = \(bind: userID) AND workspace_id = \(bind: workspaceID)
                    """).run()
            }
            return .changed
        }
    }

    /// A user's workspaces, by name.
    public func memberships(userID: String) async throws -> [Membership] {
        try await database.raw("""
            SELECT m.user_id, m.role, m.joined_at, w.id, w.name, w.created_at
            FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
            WHERE m.user_id = \(bind: userID) ORDER BY w.name, w.id
            """).all().map { row in
            let stored = StoredRow(row, table: "memberships", idColumn: "user_id")
            return Membership(
                userID: try stored.value("user_id"),
                workspace: Workspace(id: try stored.value("id"), name: try stored.value("name"), createdAt: try stored.date("created_at")),
                role: try stored.rawValue("role"), joinedAt: try stored.date("joined_at"))
        }
    }

    /// A workspace's members, by email.
    public func members(workspaceID: String) async throws -> [Member] {
        try await database.raw("""
            SELECT u.id, u.email, u.name, u.is_owner, u.created_at, m.role, m.joined_at
            FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.workspace_id = \(bind: workspaceID) ORDER BY u.email, u.id
            """).all().map { row in
            let stored = StoredRow(row, table: "memberships")
            return Member(user: try Self.user(from: row), role: try stored.rawValue("role"), joinedAt: try stored.date("joined_at"))
        }
    }

    // MARK: Sessions

    public func insertSession(idHash: String, session: BrowserSession) async throws {
        try await mappingUniqueViolation(column: "id", table: "sessions") {
            try await database.raw("""
                INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at)
                VALUES (\(bind: idHash), \(bind: session.userID), \(bind: session.createdAt.millisecondsSince1970), \
                \(bind: session.lastSeenAt.millisecondsSince1970), \(bind: session.expiresAt.millisecondsSince1970))
                """).run()
        }
    }

    public func session(idHash: String) async throws -> BrowserSession? {
        guard let row = try await database.raw("""
            SELECT user_id, created_at, last_seen_at, expires_at FROM sessions WHERE id_hash = \(bind: idHash)
            """).first()
        else { return nil }
        // The row's key is a hash of a live session id: errors name the user instead.
        let stored = StoredRow(row, table: "sessions", idColumn: "user_id")
        return BrowserSession(
            userID: try stored.value("user_id"), createdAt: try stored.date("created_at"),
            lastSeenAt: try stored.date("last_seen_at"), expiresAt: try stored.date("expires_at"))
    }

    public func touchSession(idHash: String, at date: Date) async throws {
        try await database.raw("""
            UPDATE sessions SET last_seen_at = \(bind: date.millisecondsSince1970) WHERE id_hash = \(bind: idHash)
            """).run()
    }

    public func deleteSession(idHash: String) async throws {
        try await database.raw("DELETE FROM sessions WHERE id_hash = \(bind: idHash)").run()
    }

    public func deleteSessions(userID: String) async throws {
        try await database.raw("DELETE FROM sessions WHERE user_id = \(bind: userID)").run()
    }

    public func deleteExpiredSessions(now: Date, idleLimit: Duration) async throws -> Int {
        let idleSince = now.millisecondsSince1970 - idleLimit.components.seconds * 1000
        return try await database.raw("""
            DELETE FROM sessions WHERE expires_at <= \(bind: now.millisecondsSince1970) OR last_seen_at <= \(bind: idleSince) RETURNING user_id
            """).all().count
    }

    // MARK: Invites

    public func insertInvite(_ invite: Invite, tokenHash: String) async throws {
        try await mappingUniqueViolation(column: "id", table: "invites") {
            try await database.raw("""
                INSERT INTO invites (id, token_hash, workspace_id, role, email, created_by, created_at, expires_at)
                VALUES (\(bind: invite.id), \(bind: tokenHash), \(bind: invite.workspaceID), \(bind: invite.role.rawValue), \
                \(bind: invite.email), \(bind: invite.createdBy), \(bind: invite.createdAt.millisecondsSince1970), \
                \(bind: invite.expiresAt.millisecondsSince1970))
                """).run()
        }
    }

    public func invite(tokenHash: String, now: Date) async throws -> Invite? {
        guard let row = try await database.raw("""
            SELECT id, workspace_id, role, email, created_by, created_at, expires_at FROM invites
            WHERE token_hash = \(bind: tokenHash) AND used_at IS NULL AND expires_at > \(bind: now.millisecondsSince1970)
            """).first()
        else { return nil }
        let stored = StoredRow(row, table: "invites")
        return Invite(
            id: try stored.value("id"), workspaceID: try stored.value("workspace_id"), role: try stored.rawValue("role"),
            email: try stored.optional("email"), createdBy: try stored.value("created_by"), createdAt: try stored.date("created_at"),
            expiresAt: try stored.date("expires_at"))
    }

    /// Marks the invite used, once: of two accepts racing, one update finds the row unused.
    public func useInvite(tokenHash: String, at date: Date) async throws -> Bool {
        !(try await database.raw("""
            UPDATE invites SET used_at = \(bind: date.millisecondsSince1970)
            WHERE token_hash = \(bind: tokenHash) AND used_at IS NULL AND expires_at > \(bind: date.millisecondsSince1970) RETURNING id
            """).all().isEmpty)
    }

    // MARK: Rows

    private static let userColumns: SQLQueryString = "id, email, name, is_owner, created_at"

    private static func user(from row: any SQLRow) throws(StorageError) -> User {
        let stored = StoredRow(row, table: "users")
        return User(
            id: try stored.value("id"), email: try stored.value("email"), name: try stored.value("name"),
            isOwner: try stored.value("is_owner"), createdAt: try stored.date("created_at"))
    }
}
