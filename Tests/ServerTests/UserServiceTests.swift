import Foundation
import Secrets
import Synchronization
import Testing
import Workspaces

/// ``UserService`` over ``InMemoryStore`` with a clock the test moves: session lifetimes, invite
/// expiry, password resets and the races the API cannot stage.
@Suite("UserService: sessions, invitations and setup against a test clock")
struct UserServiceTests {
    /// A clock that stands still until told.
    final class TestClock: Sendable {
        private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        var now: Date { current.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
    }

    struct Fixture {
        let store = InMemoryStore()
        let clock = TestClock()
        let service: UserService
        let workspace: Workspace

        init() async throws {
            var configuration = UserService.Configuration()
            configuration.bcryptCost = 4
            let clock = clock
            service = UserService(users: store, workspaces: store, now: { clock.now }, configuration: configuration)
            let workspaces = WorkspaceService(store: store)
            workspace = try await workspaces.create(name: "default").0
        }

        /// The owner, signed in: account and session.
        func owner() async throws -> (User, Secret) {
            let token = try #require(try await service.prepareSetup())
            return try await service.setup(token: token, email: "owner@example.com", name: "Owner", password: Self.password)
        }

        static let password = Secret("owner-password-0123")
    }

    static let hour: TimeInterval = 3600

    // MARK: - Setup

    /// Regression: "setup needed" meant "no account yet", so an invitation accepted before set-up
    /// (a workspace token can make one) killed the setup link and left the instance without an
    /// owner for good.
    @Test("an account made by invitation before set-up leaves the setup link working")
    func inviteBeforeSetup() async throws {
        let fixture = try await Fixture()
        let token = try #require(try await fixture.service.prepareSetup())
        let (_, inviteToken) = try await fixture.service.invite(to: fixture.workspace.id, role: .member, email: nil, by: "tok_default")
        _ = try await fixture.service.acceptInvite(
            token: inviteToken, as: nil, email: "early@example.com", name: "Early", password: Secret("early-password-01"))
        #expect(try await fixture.service.setupNeeded())
        let (owner, _) = try await fixture.service.setup(token: token, email: "owner@example.com", name: "Owner", password: Fixture.password)
        #expect(owner.isOwner)
        #expect(try await fixture.service.setupNeeded() == false)
        #expect(try await fixture.service.prepareSetup() == nil)
    }

    // MARK: - Sessions

    @Test("a session used at least once a day lives 30 days from sign-in, then ends")
    func absoluteLimit() async throws {
        let fixture = try await Fixture()
        let (owner, session) = try await fixture.owner()
        for _ in 0..<(30 * 24 - 1) {
            fixture.clock.advance(Self.hour)
            #expect(try await fixture.service.user(forSession: session) == owner)
        }
        fixture.clock.advance(Self.hour)
        #expect(try await fixture.service.user(forSession: session) == nil, "30 days after sign-in")
        #expect(try await fixture.store.session(idHash: TokenHash.of(session)) == nil, "and deleted")
    }

    @Test("a session unused for 24 hours ends; used just before, it goes on")
    func idleLimit() async throws {
        let fixture = try await Fixture()
        let (owner, session) = try await fixture.owner()
        fixture.clock.advance(24 * Self.hour - 1)
        #expect(try await fixture.service.user(forSession: session) == owner)
        fixture.clock.advance(24 * Self.hour - 1)
        #expect(try await fixture.service.user(forSession: session) == owner, "the use before moved the idle limit")
        fixture.clock.advance(24 * Self.hour)
        #expect(try await fixture.service.user(forSession: session) == nil)
    }

    @Test("a use within a minute of the last is not written; a later one is")
    func touchThrottled() async throws {
        let fixture = try await Fixture()
        let (_, session) = try await fixture.owner()
        let signedIn = fixture.clock.now
        fixture.clock.advance(59)
        _ = try await fixture.service.user(forSession: session)
        #expect(try await fixture.store.session(idHash: TokenHash.of(session))?.lastSeenAt == signedIn)
        fixture.clock.advance(1)
        _ = try await fixture.service.user(forSession: session)
        #expect(try await fixture.store.session(idHash: TokenHash.of(session))?.lastSeenAt == fixture.clock.now)
    }

    @Test("the retention pass deletes idle and old sessions and keeps live ones")
    func retention() async throws {
        let fixture = try await Fixture()
        let (_, idle) = try await fixture.owner()
        fixture.clock.advance(23 * Self.hour)
        let (_, live) = try await fixture.service.signIn(email: "owner@example.com", password: Fixture.password, address: "a")
        fixture.clock.advance(2 * Self.hour)
        #expect(try await fixture.service.deleteExpiredSessions() == 1)
        #expect(try await fixture.store.session(idHash: TokenHash.of(idle)) == nil)
        #expect(try await fixture.store.session(idHash: TokenHash.of(live)) != nil)
    }

    @Test("a password reset ends every session of the account and only the new password works")
    func resetPassword() async throws {
        let fixture = try await Fixture()
        let (_, first) = try await fixture.owner()
        let (_, second) = try await fixture.service.signIn(email: "owner@example.com", password: Fixture.password, address: "a")
        let member = try await fixture.service.createAccount(
            email: "mia@example.com", name: "Mia", password: Secret("member-password-01"), workspaceID: fixture.workspace.id, role: .member)
        let (_, memberSession) = try await fixture.service.signIn(email: "mia@example.com", password: Secret("member-password-01"), address: "a")

        try await fixture.service.resetPassword(email: "OWNER@example.com", to: Secret("brand-new-password-1"))
        #expect(try await fixture.service.user(forSession: first) == nil)
        #expect(try await fixture.service.user(forSession: second) == nil)
        #expect(try await fixture.service.user(forSession: memberSession) == member, "other accounts keep theirs")
        await #expect(throws: WorkspaceError.self) {
            _ = try await fixture.service.signIn(email: "owner@example.com", password: Fixture.password, address: "b")
        }
        _ = try await fixture.service.signIn(email: "owner@example.com", password: Secret("brand-new-password-1"), address: "b")

        await #expect(throws: WorkspaceError.invalid("password", "Password must be 12 to 72 bytes (about 12 to 72 characters)")) {
            try await fixture.service.resetPassword(email: "owner@example.com", to: Secret("short"))
        }
        await #expect(throws: WorkspaceError.self) {
            try await fixture.service.resetPassword(email: "nobody@example.com", to: Secret("brand-new-password-2"))
        }
    }

    // MARK: - Passwords

    @Test("a password must be 12 to 72 bytes without control characters", arguments: [
        ("elevenchars", false), ("twelve-chars", true), (String(repeating: "é", count: 36), true), (String(repeating: "é", count: 37), false),
        (String(repeating: "a", count: 73), false), ("tab\tin-the-middle", false), ("nul\u{0}in-the-middle", false), ("spaces are fine ok", true),
    ])
    func passwordRules(password: String, accepted: Bool) async throws {
        let fixture = try await Fixture()
        let token = try #require(try await fixture.service.prepareSetup())
        do {
            _ = try await fixture.service.setup(token: token, email: "owner@example.com", name: "Owner", password: Secret(password))
            #expect(accepted)
        } catch let error as WorkspaceError {
            #expect(!accepted)
            #expect(error.field == "password")
        }
    }

    // MARK: - Setup

    @Test("of two setups racing with the valid token, exactly one makes the owner")
    func concurrentSetup() async throws {
        let fixture = try await Fixture()
        let token = try #require(try await fixture.service.prepareSetup())
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<4 {
                group.addTask {
                    (try? await fixture.service.setup(
                        token: token, email: "owner\(index)@example.com", name: "Owner", password: Fixture.password)) != nil
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1, "\(results)")
        #expect(try await fixture.service.allUsers().count == 1)
    }

    @Test("the CLI's first account is the owner too, and the setup link stops working")
    func createAccountFirst() async throws {
        let fixture = try await Fixture()
        let token = try #require(try await fixture.service.prepareSetup())
        let owner = try await fixture.service.createAccount(
            email: "cli@example.com", name: "CLI", password: Fixture.password, workspaceID: nil, role: .member)
        #expect(owner.isOwner)
        #expect(try await fixture.service.memberships(of: owner.id).map(\.role) == [.admin])
        await #expect(throws: WorkspaceError.self) {
            _ = try await fixture.service.setup(token: token, email: "late@example.com", name: "Late", password: Fixture.password)
        }
    }

    // MARK: - Invitations

    @Test("an invite works for 7 days")
    func inviteLifetime() async throws {
        let fixture = try await Fixture()
        let (owner, _) = try await fixture.owner()
        let (_, token) = try await fixture.service.invite(to: fixture.workspace.id, role: .member, email: nil, by: owner.id)
        fixture.clock.advance(7 * 24 * Self.hour - 1)
        #expect(try await fixture.service.invite(token: token) != nil)
        fixture.clock.advance(1)
        #expect(try await fixture.service.invite(token: token) == nil)
        await #expect(throws: WorkspaceError.self) {
            _ = try await fixture.service.acceptInvite(
                token: token, as: nil, email: "late@example.com", name: "Late", password: Secret("member-password-01"))
        }
        #expect(try await fixture.service.allUsers().count == 1)
    }

    @Test("of two accepts of one invite racing, exactly one joins")
    func concurrentAccept() async throws {
        let fixture = try await Fixture()
        let (owner, _) = try await fixture.owner()
        let (_, token) = try await fixture.service.invite(to: fixture.workspace.id, role: .member, email: nil, by: owner.id)
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<2 {
                group.addTask {
                    (try? await fixture.service.acceptInvite(
                        token: token, as: nil, email: "guest\(index)@example.com", name: "Guest", password: Secret("member-password-01"))) != nil
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1)
        #expect(try await fixture.service.members(of: fixture.workspace.id).count == 2)
        #expect(try await fixture.service.allUsers().count == 2, "the refused accept left no account")
    }

    // MARK: - Roles

    /// Regression: `setRole` and `removeMember` read the members, then wrote, so two admins
    /// stepping down at once each saw the other still admin, and both succeeded. The store now
    /// checks and writes in one step.
    @Test("two admins stepping down at once leave the workspace with an admin")
    func lastAdminRace() async throws {
        var orphaned = 0
        for _ in 0..<20 {
            let fixture = try await Fixture()
            let (owner, _) = try await fixture.owner()
            let other = try await fixture.service.createAccount(
                email: "ada@example.com", name: "Ada", password: Secret("member-password-01"), workspaceID: fixture.workspace.id, role: .admin)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await fixture.service.setRole(.member, of: owner.id, in: fixture.workspace.id) }
                group.addTask { try? await fixture.service.removeMember(other.id, from: fixture.workspace.id) }
            }
            if try await fixture.service.members(of: fixture.workspace.id).allSatisfy({ $0.role != .admin }) { orphaned += 1 }
        }
        #expect(orphaned == 0, "\(orphaned) of 20 workspaces lost their last admin")
    }

    // MARK: - Throttle

    @Test("the throttle: five attempts per account and address, twenty per address, fifty per account, in 15 minutes")
    func throttleLimits() {
        let throttle = SignInThrottle()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for second in 0..<5 { #expect(throttle.begin(account: "a", address: "1.1.1.1", now: start + Double(second)) == nil) }
        #expect(throttle.begin(account: "a", address: "1.1.1.1", now: start + 10) == 890, "until the oldest of the five is 15 minutes old")
        #expect(throttle.begin(account: "a", address: "2.2.2.2", now: start + 10) == nil, "the owner elsewhere is not locked out")
        #expect(throttle.begin(account: "b", address: "1.1.1.1", now: start + 10) == nil)
        #expect(throttle.begin(account: "a", address: "1.1.1.1", now: start + 900) == nil)

        let spray = SignInThrottle()
        for index in 0..<20 { #expect(spray.begin(account: "user\(index)", address: "6.6.6.6", now: start) == nil) }
        #expect(spray.begin(account: "fresh", address: "6.6.6.6", now: start + 1) != nil, "one address spraying accounts")

        let botnet = SignInThrottle()
        for index in 0..<50 { #expect(botnet.begin(account: "victim", address: "10.0.0.\(index)", now: start) == nil) }
        #expect(botnet.begin(account: "victim", address: "10.0.1.1", now: start + 1) != nil, "many addresses guessing one account")
        #expect(botnet.begin(account: "other", address: "10.0.1.1", now: start + 1) == nil)
    }

    @Test("a success is no failure, and forgets that account's failures from that address only")
    func throttleSuccess() {
        let throttle = SignInThrottle()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for _ in 0..<4 { #expect(throttle.begin(account: "a", address: "1.1.1.1", now: start) == nil) }
        let signedIn = start + 1
        #expect(throttle.begin(account: "a", address: "1.1.1.1", now: signedIn) == nil)
        throttle.succeeded(account: "a", address: "1.1.1.1", startedAt: signedIn)
        for _ in 0..<5 { #expect(throttle.begin(account: "a", address: "1.1.1.1", now: start + 2) == nil) }
        #expect(throttle.begin(account: "a", address: "1.1.1.1", now: start + 2) != nil, "the five after the success count")
        // The address's own count kept the four failures only: 4 + 5 + this one = 10 of its 20.
        #expect(throttle.begin(account: "b", address: "1.1.1.1", now: start + 2) == nil)
    }

    /// Regression: the throttle counted a failure only after bcrypt had answered, so every attempt
    /// that started while the first ones were still hashing passed the check, and a burst of
    /// parallel requests got far more than five guesses. Now an attempt counts when it begins.
    @Test("sign-ins racing from one address get no more password checks than the limit allows")
    func throttleUnderConcurrency() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.owner()
        let outcomes = await withTaskGroup(of: String.self) { group in
            for index in 0..<12 {
                group.addTask {
                    do {
                        _ = try await fixture.service.signIn(
                            email: "owner@example.com", password: Secret("wrong-password-\(index)"), address: "6.6.6.6")
                        return "signed in"
                    } catch let error as WorkspaceError {
                        return error.kind.rawValue
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let checked = outcomes.filter { $0 == WorkspaceError.Kind.unauthorized.rawValue }.count
        #expect(checked <= 5, "\(checked) passwords were checked; the rest: \(Set(outcomes))")
    }

    @Test("the service refuses past the throttle before checking the password, with the wait")
    func serviceThrottle() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.owner()
        for _ in 0..<5 {
            await #expect(throws: WorkspaceError.self) {
                _ = try await fixture.service.signIn(email: "owner@example.com", password: Secret("wrong-password-01"), address: "1.1.1.1")
            }
        }
        do {
            _ = try await fixture.service.signIn(email: "owner@example.com", password: Fixture.password, address: "1.1.1.1")
            Issue.record("signed in past the throttle")
        } catch let error as WorkspaceError {
            #expect(error.kind == .tooManyAttempts)
            #expect(error.retryAfter == 900)
            #expect(error.message.contains("15 minutes"), "\(error.message)")
        }
        fixture.clock.advance(900)
        _ = try await fixture.service.signIn(email: "owner@example.com", password: Fixture.password, address: "1.1.1.1")
    }
}
