public import Foundation

extension InMemoryStore: UserStore {
    public func insertUser(_ user: User, passwordHash: String) throws {
        if user.isOwner, usersByID.values.contains(where: { $0.user.isOwner }) { throw StoreError.duplicate("owner") }
        guard usersByID[user.id] == nil, !usersByID.values.contains(where: { $0.user.email == user.email }) else {
            throw StoreError.duplicate("email")
        }
        usersByID[user.id] = (user, passwordHash)
    }

    public func user(id: String) -> User? { usersByID[id]?.user }

    public func user(email: String) -> (user: User, passwordHash: String)? {
        usersByID.values.first { $0.user.email == email }
    }

    public func users() -> [User] {
        usersByID.values.map(\.user).sorted { ($0.email, $0.id) < ($1.email, $1.id) }
    }

    public func updatePasswordHash(userID: String, to hash: String) -> Bool {
        guard usersByID[userID] != nil else { return false }
        usersByID[userID]?.passwordHash = hash
        return true
    }

    public func hasOwner() -> Bool { usersByID.values.contains { $0.user.isOwner } }

    public func setMembership(userID: String, workspaceID: String, role: WorkspaceRole, at date: Date) {
        guard usersByID[userID] != nil, workspace(id: workspaceID) != nil else { return }
        let key = Self.membershipKey(userID, workspaceID)
        membershipsByKey[key] = (role, membershipsByKey[key]?.joinedAt ?? date)
    }

    public func changeMembership(userID: String, workspaceID: String, to role: WorkspaceRole?) -> MembershipChange {
        let key = Self.membershipKey(userID, workspaceID)
        guard let current = membershipsByKey[key] else { return .notMember }
        if current.role == .admin, role != .admin, members(workspaceID: workspaceID).filter({ $0.role == .admin }).count == 1 {
            return .lastAdmin
        }
        if let role { membershipsByKey[key]?.role = role } else { membershipsByKey[key] = nil }
        return .changed
    }

    public func memberships(userID: String) -> [Membership] {
        workspaces().compactMap { workspace in
            membershipsByKey[Self.membershipKey(userID, workspace.id)].map {
                Membership(userID: userID, workspace: workspace, role: $0.role, joinedAt: $0.joinedAt)
            }
        }
        .sorted { ($0.workspace.name, $0.workspace.id) < ($1.workspace.name, $1.workspace.id) }
    }

    public func members(workspaceID: String) -> [Member] {
        users().compactMap { user in
            membershipsByKey[Self.membershipKey(user.id, workspaceID)].map { Member(user: user, role: $0.role, joinedAt: $0.joinedAt) }
        }
    }

    public func insertSession(idHash: String, session: BrowserSession) throws {
        guard sessionsByHash[idHash] == nil else { throw StoreError.duplicate("id") }
        sessionsByHash[idHash] = session
    }

    public func session(idHash: String) -> BrowserSession? { sessionsByHash[idHash] }

    public func touchSession(idHash: String, at date: Date) {
        sessionsByHash[idHash]?.lastSeenAt = date
    }

    public func deleteSession(idHash: String) {
        sessionsByHash[idHash] = nil
    }

    public func deleteSessions(userID: String) {
        sessionsByHash = sessionsByHash.filter { $0.value.userID != userID }
    }

    public func deleteExpiredSessions(now: Date, idleLimit: Duration) -> Int {
        let before = sessionsByHash.count
        let idle = TimeInterval(idleLimit.components.seconds)
        sessionsByHash = sessionsByHash.filter { $0.value.expiresAt > now && now.timeIntervalSince($0.value.lastSeenAt) < idle }
        return before - sessionsByHash.count
    }

    public func insertInvite(_ invite: Invite, tokenHash: String) throws {
        guard invitesByHash[tokenHash] == nil else { throw StoreError.duplicate("id") }
        invitesByHash[tokenHash] = (invite, false)
    }

    public func invite(tokenHash: String, now: Date) -> Invite? {
        guard let (invite, used) = invitesByHash[tokenHash], !used, invite.expiresAt > now,
            workspace(id: invite.workspaceID) != nil
        else { return nil }
        return invite
    }

    public func useInvite(tokenHash: String, at date: Date) -> Bool {
        guard let entry = invitesByHash[tokenHash], !entry.used, entry.invite.expiresAt > date else { return false }
        invitesByHash[tokenHash]?.used = true
        return true
    }

    private static func membershipKey(_ userID: String, _ workspaceID: String) -> String {
        userID + "\u{0}" + workspaceID
    }
}
