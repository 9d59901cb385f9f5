import Foundation
import Storage
import Testing
import Workspaces

/// What every ``UserStore`` must do (and the credential test records the Credentials page shows),
/// run against each ``StoreKind``.
///
/// Not covered: memberships and invites going with a deleted workspace, because no store port can
/// delete a workspace yet (the SQL schema cascades; add the test with the port).
@Suite("UserStore contract")
struct UserStoreContractTests {
    private static let home = Fixture.workspace("ws_home", name: "Home", createdAt: 1_000)
    private static let away = Fixture.workspace("ws_away", name: "Away", createdAt: 2_000)
    /// Named to sort before both: memberships list by workspace name, not by age or id.
    private static let archive = Fixture.workspace("ws_zzz", name: "Archive", createdAt: 3_000)

    private static func withWorkspaces(_ kind: StoreKind, _ body: (any UserContractStore) async throws -> Void) async throws {
        try await kind.withUserStore { store in
            for (index, workspace) in [home, away, archive].enumerated() {
                try await store.insertWorkspace(workspace, tokenHash: "hash-\(index)")
            }
            try await body(store)
        }
    }

    // MARK: - Users

    @Test("a user is found by id and by email with its hash; users list by email", arguments: StoreKind.allCases)
    func users(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            #expect(try await store.hasOwner() == false)
            #expect(try await store.users().isEmpty)
            let zed = UserFixture.user("usr_a", email: "zed@example.com", isOwner: true)
            let amy = UserFixture.user("usr_b", email: "amy@example.com")
            try await store.insertUser(amy, passwordHash: "$2b$04$amy")
            #expect(try await store.hasOwner() == false, "an account that is not the owner")
            try await store.insertUser(zed, passwordHash: "$2b$04$zed")

            #expect(try await store.hasOwner())
            #expect(try await store.user(id: "usr_a") == zed)
            #expect(try await store.user(id: "usr_missing") == nil)
            let found = try #require(try await store.user(email: "amy@example.com"))
            #expect(found.user == amy)
            #expect(found.passwordHash == "$2b$04$amy")
            #expect(try await store.user(email: "nobody@example.com") == nil)
            #expect(try await store.users() == [amy, zed])
        }
    }

    @Test("a new password hash replaces the old one; an unknown user is false", arguments: StoreKind.allCases)
    func passwordHash(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            try await store.insertUser(UserFixture.user("usr_a", email: "ann@example.com"), passwordHash: "old")
            #expect(try await store.updatePasswordHash(userID: "usr_a", to: "new"))
            #expect(try await store.user(email: "ann@example.com")?.passwordHash == "new")
            #expect(try await store.updatePasswordHash(userID: "usr_missing", to: "new") == false)
        }
    }

    @Test("a taken email (or id) is duplicate(email); the first user stays", arguments: StoreKind.allCases)
    func duplicateEmail(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let ann = UserFixture.user("usr_a", email: "ann@example.com")
            try await store.insertUser(ann, passwordHash: "first")
            await #expect(throws: StoreError.duplicate("email")) {
                try await store.insertUser(UserFixture.user("usr_b", email: "ann@example.com", name: "Other"), passwordHash: "second")
            }
            await #expect(throws: StoreError.duplicate("email")) {
                try await store.insertUser(UserFixture.user("usr_a", email: "other@example.com"), passwordHash: "third")
            }
            #expect(try await store.users() == [ann])
            #expect(try await store.user(email: "ann@example.com")?.passwordHash == "first")
        }
    }

    @Test("a second owner is duplicate(owner), whatever its email; non-owners may follow", arguments: StoreKind.allCases)
    func secondOwner(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let owner = UserFixture.user("usr_a", email: "owner@example.com", isOwner: true)
            try await store.insertUser(owner, passwordHash: "h")
            await #expect(throws: StoreError.duplicate("owner")) {
                try await store.insertUser(UserFixture.user("usr_b", email: "other@example.com", isOwner: true), passwordHash: "h")
            }
            let member = UserFixture.user("usr_c", email: "member@example.com")
            try await store.insertUser(member, passwordHash: "h")
            #expect(try await store.users() == [member, owner])
        }
    }

    @Test("of concurrent owner inserts, exactly one wins and the rest are duplicate(owner)", arguments: StoreKind.allCases)
    func concurrentOwners(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store async throws in
            let outcomes = await withTaskGroup(of: String.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        do {
                            try await store.insertUser(
                                UserFixture.user("usr_\(index)", email: "owner\(index)@example.com", isOwner: true), passwordHash: "h")
                            return "inserted"
                        } catch StoreError.duplicate(let field) {
                            return "duplicate(\(field))"
                        } catch {
                            return "failed: \(error)"
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == "inserted" }.count == 1, "\(outcomes)")
            #expect(outcomes.filter { $0 == "duplicate(owner)" }.count == 7, "\(outcomes)")
            #expect(try await store.users().filter(\.isOwner).count == 1)
        }
    }

    @Test("creation dates and names round trip exactly", arguments: StoreKind.allCases)
    func roundTrip(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let user = User(
                id: "usr_a", email: "ünïcode@example.com", name: "Zoë “Quotes” O'Brien — ☃", isOwner: false,
                createdAt: Fixture.date(1_767_225_599_999))
            try await store.insertUser(user, passwordHash: "$2b$12$abcdefghijklmnopqrstuv")
            #expect(try await store.user(id: "usr_a") == user)
        }
    }

    // MARK: - Memberships

    @Test("a user's memberships list by workspace name; a workspace's members by email", arguments: StoreKind.allCases)
    func membershipOrder(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let zed = UserFixture.user("usr_a", email: "zed@example.com")
            let amy = UserFixture.user("usr_b", email: "amy@example.com")
            try await store.insertUser(zed, passwordHash: "h")
            try await store.insertUser(amy, passwordHash: "h")
            try await store.setMembership(userID: zed.id, workspaceID: Self.home.id, role: .admin, at: Fixture.date(10))
            try await store.setMembership(userID: zed.id, workspaceID: Self.archive.id, role: .member, at: Fixture.date(20))
            try await store.setMembership(userID: zed.id, workspaceID: Self.away.id, role: .member, at: Fixture.date(30))
            try await store.setMembership(userID: amy.id, workspaceID: Self.home.id, role: .member, at: Fixture.date(40))

            let mine = try await store.memberships(userID: zed.id)
            #expect(mine.map(\.workspace) == [Self.archive, Self.away, Self.home])
            #expect(mine.map(\.role) == [.member, .member, .admin])
            #expect(mine.map(\.joinedAt) == [Fixture.date(20), Fixture.date(30), Fixture.date(10)])
            #expect(mine.allSatisfy { $0.userID == zed.id })

            let members = try await store.members(workspaceID: Self.home.id)
            #expect(members == [
                Member(user: amy, role: .member, joinedAt: Fixture.date(40)),
                Member(user: zed, role: .admin, joinedAt: Fixture.date(10)),
            ])
            #expect(try await store.members(workspaceID: "ws_missing").isEmpty)
            #expect(try await store.memberships(userID: "usr_missing").isEmpty)
        }
    }

    @Test("changing a role keeps the first join date and adds no second membership", arguments: StoreKind.allCases)
    func roleChange(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let ann = UserFixture.user("usr_a", email: "ann@example.com")
            try await store.insertUser(ann, passwordHash: "h")
            try await store.setMembership(userID: ann.id, workspaceID: Self.home.id, role: .member, at: Fixture.date(1_000))
            try await store.setMembership(userID: ann.id, workspaceID: Self.home.id, role: .admin, at: Fixture.date(9_000))

            #expect(try await store.memberships(userID: ann.id) == [
                Membership(userID: ann.id, workspace: Self.home, role: .admin, joinedAt: Fixture.date(1_000))
            ])
            #expect(try await store.members(workspaceID: Self.home.id).count == 1)
        }
    }

    @Test("a membership of an unknown user or workspace is not stored", arguments: StoreKind.allCases)
    func membershipOfUnknown(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let ann = UserFixture.user("usr_a", email: "ann@example.com")
            try await store.insertUser(ann, passwordHash: "h")
            try await store.setMembership(userID: "usr_missing", workspaceID: Self.home.id, role: .admin, at: Fixture.date(1))
            try await store.setMembership(userID: ann.id, workspaceID: "ws_missing", role: .admin, at: Fixture.date(1))
            #expect(try await store.members(workspaceID: Self.home.id).isEmpty)
            #expect(try await store.memberships(userID: ann.id).isEmpty)
        }
    }

    @Test("a membership changes or goes once, touches no other, and never takes a workspace's last admin", arguments: StoreKind.allCases)
    func changeMembership(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let ann = UserFixture.user("usr_a", email: "ann@example.com")
            let bob = UserFixture.user("usr_b", email: "bob@example.com")
            try await store.insertUser(ann, passwordHash: "h")
            try await store.insertUser(bob, passwordHash: "h")
            try await store.setMembership(userID: ann.id, workspaceID: Self.home.id, role: .admin, at: Fixture.date(1))
            try await store.setMembership(userID: ann.id, workspaceID: Self.away.id, role: .admin, at: Fixture.date(2))
            try await store.setMembership(userID: bob.id, workspaceID: Self.home.id, role: .member, at: Fixture.date(3))

            #expect(try await store.changeMembership(userID: ann.id, workspaceID: Self.home.id, to: .member) == .lastAdmin)
            #expect(try await store.changeMembership(userID: ann.id, workspaceID: Self.home.id, to: nil) == .lastAdmin)
            #expect(try await store.changeMembership(userID: bob.id, workspaceID: Self.home.id, to: .admin) == .changed)
            #expect(try await store.changeMembership(userID: ann.id, workspaceID: Self.home.id, to: nil) == .changed)
            #expect(try await store.changeMembership(userID: ann.id, workspaceID: Self.home.id, to: nil) == .notMember)
            #expect(try await store.memberships(userID: ann.id).map(\.workspace) == [Self.away])
            #expect(try await store.members(workspaceID: Self.home.id).map(\.role) == [.admin], "bob is its admin now")
        }
    }

    @Test("of concurrent first memberships of one user in one workspace, one row results with a role given", arguments: StoreKind.allCases)
    func concurrentMemberships(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store async throws in
            let ann = UserFixture.user("usr_a", email: "ann@example.com")
            try await store.insertUser(ann, passwordHash: "h")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await store.setMembership(
                            userID: ann.id, workspaceID: Self.home.id, role: index.isMultiple(of: 2) ? .admin : .member, at: Fixture.date(Int64(index)))
                    }
                }
                try await group.waitForAll()
            }
            let members = try await store.members(workspaceID: Self.home.id)
            #expect(members.count == 1)
        }
    }

    // MARK: - Sessions

    @Test("a session is found by its hash, touched, and deleted", arguments: StoreKind.allCases)
    func sessions(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let ann = UserFixture.user("usr_a", email: "ann@example.com")
            try await store.insertUser(ann, passwordHash: "h")
            let session = UserFixture.session(userID: ann.id, createdAt: 1_000, lastSeenAt: 1_000, expiresAt: 9_000_000)
            try await store.insertSession(idHash: "hash-1", session: session)

            #expect(try await store.session(idHash: "hash-1") == session)
            #expect(try await store.session(idHash: "hash-missing") == nil)

            try await store.touchSession(idHash: "hash-1", at: Fixture.date(5_555))
            var touched = session
            touched.lastSeenAt = Fixture.date(5_555)
            #expect(try await store.session(idHash: "hash-1") == touched)
            try await store.touchSession(idHash: "hash-missing", at: Fixture.date(6_000))

            try await store.deleteSession(idHash: "hash-1")
            #expect(try await store.session(idHash: "hash-1") == nil)
            try await store.deleteSession(idHash: "hash-1")
        }
    }

    @Test("a session hash is inserted once", arguments: StoreKind.allCases)
    func duplicateSession(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let ann = UserFixture.user("usr_a", email: "ann@example.com")
            try await store.insertUser(ann, passwordHash: "h")
            let first = UserFixture.session(userID: ann.id, createdAt: 1, lastSeenAt: 1, expiresAt: 100)
            try await store.insertSession(idHash: "hash-1", session: first)
            await #expect(throws: StoreError.self) {
                try await store.insertSession(idHash: "hash-1", session: UserFixture.session(userID: ann.id, createdAt: 2, lastSeenAt: 2, expiresAt: 200))
            }
            #expect(try await store.session(idHash: "hash-1") == first)
        }
    }

    @Test("ending a user's sessions leaves everyone else's", arguments: StoreKind.allCases)
    func deleteSessionsOfUser(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let ann = UserFixture.user("usr_a", email: "ann@example.com")
            let bob = UserFixture.user("usr_b", email: "bob@example.com")
            try await store.insertUser(ann, passwordHash: "h")
            try await store.insertUser(bob, passwordHash: "h")
            let live = UserFixture.session(userID: ann.id, createdAt: 1, lastSeenAt: 1, expiresAt: 9_000)
            try await store.insertSession(idHash: "ann-1", session: live)
            try await store.insertSession(idHash: "ann-2", session: live)
            let bobs = UserFixture.session(userID: bob.id, createdAt: 1, lastSeenAt: 1, expiresAt: 9_000)
            try await store.insertSession(idHash: "bob-1", session: bobs)

            try await store.deleteSessions(userID: ann.id)
            #expect(try await store.session(idHash: "ann-1") == nil)
            #expect(try await store.session(idHash: "ann-2") == nil)
            #expect(try await store.session(idHash: "bob-1") == bobs)
        }
    }

    /// Now is 100 000 ms; the idle limit 10 s.
    @Test("deleting expired sessions removes those at their absolute expiry or idle for the limit, and counts them", arguments: StoreKind.allCases)
    func deleteExpiredSessions(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let ann = UserFixture.user("usr_a", email: "ann@example.com")
            try await store.insertUser(ann, passwordHash: "h")
            let cases: [(String, BrowserSession, kept: Bool)] = [
                ("fresh", UserFixture.session(userID: ann.id, createdAt: 1, lastSeenAt: 99_000, expiresAt: 200_000), true),
                ("idle just under the limit", UserFixture.session(userID: ann.id, createdAt: 1, lastSeenAt: 90_001, expiresAt: 200_000), true),
                ("idle exactly the limit", UserFixture.session(userID: ann.id, createdAt: 1, lastSeenAt: 90_000, expiresAt: 200_000), false),
                ("idle long", UserFixture.session(userID: ann.id, createdAt: 1, lastSeenAt: 1_000, expiresAt: 200_000), false),
                ("absolute just ahead", UserFixture.session(userID: ann.id, createdAt: 1, lastSeenAt: 99_999, expiresAt: 100_001), true),
                ("absolute now", UserFixture.session(userID: ann.id, createdAt: 1, lastSeenAt: 99_999, expiresAt: 100_000), false),
                ("absolute past", UserFixture.session(userID: ann.id, createdAt: 1, lastSeenAt: 99_999, expiresAt: 50_000), false),
            ]
            for (name, session, _) in cases {
                try await store.insertSession(idHash: name, session: session)
            }

            let deleted = try await store.deleteExpiredSessions(now: Fixture.date(100_000), idleLimit: .seconds(10))
            #expect(deleted == cases.filter { !$0.kept }.count)
            for (name, session, kept) in cases {
                #expect(try await store.session(idHash: name) == (kept ? session : nil), "\(name)")
            }
            #expect(try await store.deleteExpiredSessions(now: Fixture.date(100_000), idleLimit: .seconds(10)) == 0)
        }
    }

    // MARK: - Invites

    @Test("an invite is found by its token hash until it expires; its fields round trip", arguments: StoreKind.allCases)
    func invites(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let open = UserFixture.invite("inv_a", role: .member, email: nil, expiresAt: 50_000)
            let bound = UserFixture.invite("inv_b", role: .admin, email: "bound@example.com", expiresAt: 50_000)
            try await store.insertInvite(open, tokenHash: "hash-a")
            try await store.insertInvite(bound, tokenHash: "hash-b")

            #expect(try await store.invite(tokenHash: "hash-a", now: Fixture.date(10_000)) == open)
            #expect(try await store.invite(tokenHash: "hash-b", now: Fixture.date(49_999)) == bound)
            #expect(try await store.invite(tokenHash: "hash-b", now: Fixture.date(50_000)) == nil, "expired at expiresAt")
            #expect(try await store.invite(tokenHash: "hash-missing", now: Fixture.date(10_000)) == nil)
        }
    }

    @Test("an invite is used once; a used or expired one is not returned", arguments: StoreKind.allCases)
    func useInvite(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let invite = UserFixture.invite("inv_a", role: .member, email: nil, expiresAt: 50_000)
            try await store.insertInvite(invite, tokenHash: "hash-a")
            try await store.insertInvite(UserFixture.invite("inv_b", role: .member, email: nil, expiresAt: 50_000), tokenHash: "hash-b")

            #expect(try await store.useInvite(tokenHash: "hash-a", at: Fixture.date(10_000)))
            #expect(try await store.useInvite(tokenHash: "hash-a", at: Fixture.date(10_001)) == false)
            #expect(try await store.invite(tokenHash: "hash-a", now: Fixture.date(10_002)) == nil)

            #expect(try await store.useInvite(tokenHash: "hash-b", at: Fixture.date(50_000)) == false, "expired")
            #expect(try await store.useInvite(tokenHash: "hash-missing", at: Fixture.date(10_000)) == false)
        }
    }

    @Test("of two concurrent uses of one invite, exactly one is true", arguments: StoreKind.allCases)
    func concurrentUse(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store async throws in
            for round in 0..<10 {
                try await store.insertInvite(
                    UserFixture.invite("inv_\(round)", role: .member, email: nil, expiresAt: 50_000), tokenHash: "hash-\(round)")
                let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for _ in 0..<2 {
                        group.addTask { try await store.useInvite(tokenHash: "hash-\(round)", at: Fixture.date(10_000)) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(results.sorted { !$0 && $1 } == [false, true], "round \(round): \(results)")
            }
        }
    }

    @Test("an invite token hash is inserted once", arguments: StoreKind.allCases)
    func duplicateInvite(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            let first = UserFixture.invite("inv_a", role: .member, email: nil, expiresAt: 50_000)
            try await store.insertInvite(first, tokenHash: "hash-a")
            await #expect(throws: StoreError.self) {
                try await store.insertInvite(UserFixture.invite("inv_b", role: .admin, email: nil, expiresAt: 60_000), tokenHash: "hash-a")
            }
            #expect(try await store.invite(tokenHash: "hash-a", now: Fixture.date(1)) == first)
        }
    }

    // MARK: - Credential test records

    @Test("a credential's latest test replaces the one before", arguments: StoreKind.allCases)
    func testRecordReplaced(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            try await store.insertCredential(try Fixture.credential("cr_1", workspaceID: Self.home.id))
            try await store.insertCredential(try Fixture.credential("cr_2", workspaceID: Self.home.id))
            #expect(try await store.lastTests(workspaceID: Self.home.id).isEmpty)

            let failed = CredentialTestRecord(ok: false, testedAt: Fixture.date(1_000), code: "EAUTH", tlsVersion: "TLSv1.3")
            let passed = CredentialTestRecord(ok: true, testedAt: Fixture.date(2_000), code: nil, tlsVersion: "TLSv1.2")
            let plain = CredentialTestRecord(ok: true, testedAt: Fixture.date(3_000), code: nil, tlsVersion: nil)
            try await store.recordTest(failed, credentialID: "cr_1", workspaceID: Self.home.id)
            #expect(try await store.lastTests(workspaceID: Self.home.id) == ["cr_1": failed])
            try await store.recordTest(passed, credentialID: "cr_1", workspaceID: Self.home.id)
            try await store.recordTest(plain, credentialID: "cr_2", workspaceID: Self.home.id)
            #expect(try await store.lastTests(workspaceID: Self.home.id) == ["cr_1": passed, "cr_2": plain])
        }
    }

    @Test("test records are scoped to the workspace: another's id records nothing and lists nothing", arguments: StoreKind.allCases)
    func testRecordScoped(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            try await store.insertCredential(try Fixture.credential("cr_home", workspaceID: Self.home.id))
            try await store.insertCredential(try Fixture.credential("cr_away", workspaceID: Self.away.id))
            let record = CredentialTestRecord(ok: true, testedAt: Fixture.date(1_000), code: nil, tlsVersion: "TLSv1.3")

            try await store.recordTest(record, credentialID: "cr_away", workspaceID: Self.home.id)
            try await store.recordTest(record, credentialID: "cr_missing", workspaceID: Self.home.id)
            #expect(try await store.lastTests(workspaceID: Self.home.id).isEmpty)
            #expect(try await store.lastTests(workspaceID: Self.away.id).isEmpty)

            try await store.recordTest(record, credentialID: "cr_away", workspaceID: Self.away.id)
            #expect(try await store.lastTests(workspaceID: Self.away.id) == ["cr_away": record])
            #expect(try await store.lastTests(workspaceID: Self.home.id).isEmpty)
        }
    }

    @Test("a credential's test record goes with it: a new credential with the same id has none", arguments: StoreKind.allCases)
    func testRecordDeleted(_ kind: StoreKind) async throws {
        try await Self.withWorkspaces(kind) { store in
            try await store.insertCredential(try Fixture.credential("cr_1", workspaceID: Self.home.id))
            try await store.recordTest(
                CredentialTestRecord(ok: false, testedAt: Fixture.date(1_000), code: "ETLS", tlsVersion: nil), credentialID: "cr_1",
                workspaceID: Self.home.id)
            #expect(try await store.deleteCredential(id: "cr_1", workspaceID: Self.home.id))
            #expect(try await store.lastTests(workspaceID: Self.home.id).isEmpty)

            try await store.insertCredential(try Fixture.credential("cr_1", workspaceID: Self.home.id))
            #expect(try await store.lastTests(workspaceID: Self.home.id).isEmpty)
        }
    }
}

// MARK: - Fixtures

/// The store ports these tests need at once.
typealias UserContractStore = WorkspaceStore & CredentialStore & UserStore & OAuthAuthorizationStore

extension StoreKind {
    /// Runs `body` with a fresh, empty store of this kind that also keeps users.
    func withUserStore(_ body: (any UserContractStore) async throws -> Void) async throws {
        switch self {
        case .inMemory:
            try await body(InMemoryStore())
        case .sqliteFile:
            try await withTemporaryDirectory { directory in
                try await withSQLiteStorage(dataDirectory: directory) { try await body($0.store) }
            }
        case .postgres:
            try await withPostgresStorage { try await body($0.store) }
        }
    }
}

/// Users, sessions and invites with millisecond-precision dates.
enum UserFixture {
    static func user(_ id: String, email: String, name: String = "Someone", isOwner: Bool = false) -> User {
        User(id: id, email: email, name: name, isOwner: isOwner, createdAt: Fixture.date(1_700_000_000_123))
    }

    static func session(userID: String, createdAt: Int64, lastSeenAt: Int64, expiresAt: Int64) -> BrowserSession {
        BrowserSession(
            userID: userID, createdAt: Fixture.date(createdAt), lastSeenAt: Fixture.date(lastSeenAt), expiresAt: Fixture.date(expiresAt))
    }

    static func invite(_ id: String, role: WorkspaceRole, email: String?, expiresAt: Int64, workspaceID: String = "ws_home") -> Invite {
        Invite(
            id: id, workspaceID: workspaceID, role: role, email: email, createdBy: "usr_admin", createdAt: Fixture.date(1_000),
            expiresAt: Fixture.date(expiresAt))
    }
}
