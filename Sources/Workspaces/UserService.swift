import Crypto
public import Foundation
import HummingbirdBcrypt
public import Secrets
import Synchronization

/// People and their sign-in: the one-time setup of the first account (the instance owner), browser
/// sessions, roles in workspaces, invitations, and the CLI's account commands.
///
/// Passwords are hashed with bcrypt (12 rounds by default) off the caller's thread; sessions,
/// setup and invite tokens are 256-bit random values stored only as SHA-256 hashes; a session ends
/// after ``Configuration/idleLimit`` without use or ``Configuration/absoluteLimit`` after sign-in.
public struct UserService: Sendable {
    /// Lifetimes and hashing cost.
    public struct Configuration: Sendable {
        /// A session unused this long ends (24 h).
        public var idleLimit: Duration = .seconds(24 * 3600)
        /// A session ends this long after sign-in, used or not (30 days).
        public var absoluteLimit: Duration = .seconds(30 * 86_400)
        /// An invite link is valid this long (7 days).
        public var inviteLifetime: Duration = .seconds(7 * 86_400)
        /// bcrypt's cost (2^cost rounds); tests lower it.
        public var bcryptCost: UInt8 = 12
        public init() {}
    }

    /// The settings key of the setup token's hash.
    static let setupTokenKey = "setup_token_sha256"

    private let users: any UserStore
    private let workspaces: any WorkspaceStore
    private let ids: IdentifierSource
    private let now: @Sendable () -> Date
    public let throttle: SignInThrottle
    public let configuration: Configuration

    public init(
        users: any UserStore, workspaces: any WorkspaceStore, ids: IdentifierSource = .system,
        now: @escaping @Sendable () -> Date = { Date() }, throttle: SignInThrottle = SignInThrottle(),
        configuration: Configuration = Configuration()
    ) {
        self.users = users
        self.workspaces = workspaces
        self.ids = ids
        self.now = { Date(timeIntervalSince1970: (now().timeIntervalSince1970 * 1000).rounded(.down) / 1000) }
        self.throttle = throttle
        self.configuration = configuration
    }

    // MARK: Setup

    /// Whether the instance still waits for its owner. (Not "for any account": an invitation
    /// accepted before set-up, with a workspace token, must not leave the instance without one.)
    public func setupNeeded() async throws -> Bool {
        !(try await users.hasOwner())
    }

    /// A fresh one-time setup token while there is no owner (printed at start as a link; a new
    /// start replaces it), else `nil`.
    public func prepareSetup() async throws -> Secret? {
        guard try await setupNeeded() else {
            if try await workspaces.setting(Self.setupTokenKey) != nil { try await workspaces.setSetting(Self.setupTokenKey, to: "") }
            return nil
        }
        let token = ids.makeSecret(prefix: "setup")
        try await workspaces.setSetting(Self.setupTokenKey, to: TokenHash.of(token))
        return token
    }

    /// Creates the first account with the setup token: the instance owner, admin of every existing
    /// workspace; the token stops working. Returns the account and a new session.
    public func setup(token: Secret, email: String, name: String, password: Secret) async throws -> (User, Secret) {
        guard let stored = try await workspaces.setting(Self.setupTokenKey), !stored.isEmpty,
            WorkspaceService.constantTimeEqual(Array(stored.utf8), Array(TokenHash.of(token).utf8)),
            try await setupNeeded()
        else {
            throw Self.setupInvalid
        }
        let user = try await createOwner(email: email, name: name, password: password)
        return (user, try await startSession(for: user))
    }

    /// The first account: the instance owner, admin of every workspace there is; the setup link
    /// stops working.
    private func createOwner(email: String, name: String, password: Secret) async throws -> User {
        let user = try await createUser(email: email, name: name, password: password, isOwner: true)
        try await workspaces.setSetting(Self.setupTokenKey, to: "")
        for workspace in try await workspaces.workspaces() {
            try await users.setMembership(userID: user.id, workspaceID: workspace.id, role: .admin, at: now())
        }
        return user
    }

    /// `posthorn user create`: while the instance has no owner, the account becomes it (as through
    /// the setup link); otherwise it joins `workspaceID`, if given, with `role`.
    public func createAccount(
        email: String, name: String, password: Secret, workspaceID: String?, role: WorkspaceRole
    ) async throws -> User {
        if try await setupNeeded() { return try await createOwner(email: email, name: name, password: password) }
        let user = try await createUser(email: email, name: name, password: password, isOwner: false)
        if let workspaceID { try await users.setMembership(userID: user.id, workspaceID: workspaceID, role: role, at: now()) }
        return user
    }

    // MARK: Accounts

    /// Creates an account (the CLI's `user create`, setup, invitations).
    public func createUser(email: String, name: String, password: Secret, isOwner: Bool) async throws -> User {
        let email = try Self.validatedEmail(email)
        try WorkspaceService.validateName(name, field: "name")
        try Self.validatePassword(password)
        let user = User(id: ids.makeID(prefix: "usr"), email: email, name: name, isOwner: isOwner, createdAt: now())
        do {
            try await users.insertUser(user, passwordHash: await hash(password))
        } catch StoreError.duplicate("owner") {
            // Another setup (or `user create`) made the owner first: there is one.
            throw Self.setupInvalid
        } catch StoreError.duplicate {
            throw WorkspaceError(.conflict, field: "email", "An account with this email already exists")
        }
        return user
    }

    /// Sets a new password and ends the account's sessions (`posthorn user reset-password`).
    public func resetPassword(email: String, to password: Secret) async throws {
        try Self.validatePassword(password)
        guard let (user, _) = try await users.user(email: email.lowercased()) else {
            throw WorkspaceError(.notFound, "No account with this email")
        }
        _ = try await users.updatePasswordHash(userID: user.id, to: await hash(password))
        try await users.deleteSessions(userID: user.id)
    }

    /// Every account.
    public func allUsers() async throws -> [User] {
        try await users.users()
    }

    /// The account with this id.
    public func user(id: String) async throws -> User? {
        try await users.user(id: id)
    }

    // MARK: Sessions

    /// Checks the password and starts a session. Refused (429 with the wait) past the throttle's
    /// limits; a wrong email and a wrong password look the same, and take the same time.
    public func signIn(email: String, password: Secret, address: String) async throws -> (User, Secret) {
        let account = email.lowercased().trimmingCharacters(in: .whitespaces)
        let started = now()
        if let wait = throttle.begin(account: account, address: address, now: started) {
            throw WorkspaceError.tooManyAttempts(retryAfter: wait)
        }
        let found = try await users.user(email: account)
        // Without an account, bcrypt still runs (against a hash of nothing): the answer's timing
        // does not tell which emails have accounts.
        let verified = await verify(password, hash: found?.passwordHash)
        guard let found, verified else {
            throw WorkspaceError(.unauthorized, "Email or password is incorrect")
        }
        throttle.succeeded(account: account, address: address, startedAt: started)
        return (found.user, try await startSession(for: found.user))
    }

    /// The signed-in user of a session id, or `nil` (unknown, ended, idle or too old). A use more
    /// than a minute after the last one is recorded.
    public func user(forSession id: Secret) async throws -> User? {
        let hash = TokenHash.of(id)
        guard let session = try await users.session(idHash: hash) else { return nil }
        let now = now()
        guard session.expiresAt > now, now.timeIntervalSince(session.lastSeenAt) < configuration.idleLimit.seconds else {
            try await users.deleteSession(idHash: hash)
            return nil
        }
        if now.timeIntervalSince(session.lastSeenAt) >= 60 { try await users.touchSession(idHash: hash, at: now) }
        return try await users.user(id: session.userID)
    }

    /// Ends a session.
    public func signOut(session id: Secret) async throws {
        try await users.deleteSession(idHash: TokenHash.of(id))
    }

    /// Deletes sessions past their limits (the retention pass).
    public func deleteExpiredSessions() async throws -> Int {
        try await users.deleteExpiredSessions(now: now(), idleLimit: configuration.idleLimit)
    }

    private func startSession(for user: User) async throws -> Secret {
        let id = ids.makeSecret(prefix: "ses")
        let now = now()
        try await users.insertSession(
            idHash: TokenHash.of(id),
            session: BrowserSession(userID: user.id, createdAt: now, lastSeenAt: now, expiresAt: now.addingTimeInterval(configuration.absoluteLimit.seconds)))
        return id
    }

    // MARK: Workspaces and roles

    /// A user's workspaces and roles.
    public func memberships(of userID: String) async throws -> [Membership] {
        try await users.memberships(userID: userID)
    }

    /// A workspace's members.
    public func members(of workspaceID: String) async throws -> [Member] {
        try await users.members(workspaceID: workspaceID)
    }

    /// Changes a member's role; refused for the workspace's last admin.
    public func setRole(_ role: WorkspaceRole, of userID: String, in workspaceID: String) async throws {
        try Self.check(try await users.changeMembership(userID: userID, workspaceID: workspaceID, to: role))
    }

    /// Removes a user from a workspace; refused for its last admin.
    public func removeMember(_ userID: String, from workspaceID: String) async throws {
        try Self.check(try await users.changeMembership(userID: userID, workspaceID: workspaceID, to: nil))
    }

    private static func check(_ change: MembershipChange) throws {
        switch change {
        case .changed: return
        case .notMember: throw WorkspaceError(.notFound, "Member not found")
        case .lastAdmin: throw WorkspaceError(.lastAdmin, "A workspace keeps at least one admin; make someone else admin first")
        }
    }

    // MARK: Invites

    /// A one-time invitation link token for a workspace.
    public func invite(to workspaceID: String, role: WorkspaceRole, email: String?, by userID: String) async throws -> (Invite, Secret) {
        let email = try email.map(Self.validatedEmail)
        let token = ids.makeSecret(prefix: "inv")
        let now = now()
        let invite = Invite(
            id: ids.makeID(prefix: "inv"), workspaceID: workspaceID, role: role, email: email, createdBy: userID, createdAt: now,
            expiresAt: now.addingTimeInterval(configuration.inviteLifetime.seconds))
        try await users.insertInvite(invite, tokenHash: TokenHash.of(token))
        return (invite, token)
    }

    /// The invite a token names, while it is valid.
    public func invite(token: Secret) async throws -> Invite? {
        try await users.invite(tokenHash: TokenHash.of(token), now: now())
    }

    /// Accepts an invite: as the signed-in `user`, or by creating an account. Returns the account
    /// and, for a new account, a session.
    ///
    /// Everything that can refuse is checked before anything is written (the form, the invite's
    /// address, a taken email), so a refused accept leaves no account behind. Someone already in
    /// the workspace keeps their role unless the invite raises it: an invite never demotes.
    public func acceptInvite(
        token: Secret, as user: User?, email: String?, name: String?, password: Secret?
    ) async throws -> (User, Secret?) {
        guard let invite = try await invite(token: token) else { throw Self.inviteInvalid }
        let address: String
        if let user {
            address = user.email
        } else {
            guard let email else { throw WorkspaceError.invalid("email", "Email is required") }
            guard let name else { throw WorkspaceError.invalid("name", "Name is required") }
            guard let password else { throw WorkspaceError.invalid("password", "Password is required") }
            address = try Self.validatedEmail(email)
            try WorkspaceService.validateName(name, field: "name")
            try Self.validatePassword(password)
        }
        if let required = invite.email, required != address {
            throw WorkspaceError.invalid("email", "This invitation is for \(required)")
        }
        if user == nil, try await users.user(email: address) != nil {
            throw WorkspaceError(.conflict, field: "email", "An account with this email already exists; sign in first, then open the link again")
        }
        guard try await users.useInvite(tokenHash: TokenHash.of(token), at: now()) else { throw Self.inviteInvalid }
        let member: User
        if let user {
            member = user
        } else {
            member = try await createUser(email: address, name: name ?? "", password: password ?? Secret(""), isOwner: false)
        }
        let current = try await users.memberships(userID: member.id).first { $0.workspace.id == invite.workspaceID }?.role
        if current != .admin {
            try await users.setMembership(userID: member.id, workspaceID: invite.workspaceID, role: invite.role, at: now())
        }
        let session = user == nil ? try await startSession(for: member) : nil
        return (member, session)
    }

    static let setupInvalid = WorkspaceError(.forbidden, "This setup link is not valid (it works once, on an instance without accounts)")

    static let inviteInvalid = WorkspaceError(.notFound, "This invitation is not valid (it works once, for 7 days)")

    /// Makes the instance owner, and `creator` when given, admins of a workspace just created.
    public func workspaceCreated(_ workspace: Workspace, by creator: User?) async throws {
        for user in try await users.users() where user.isOwner || user.id == creator?.id {
            try await users.setMembership(userID: user.id, workspaceID: workspace.id, role: .admin, at: now())
        }
    }

    // MARK: Rules

    static func validatedEmail(_ email: String) throws(WorkspaceError) -> String {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !email.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " })
        else {
            throw WorkspaceError.invalid("email", "Enter an email address like name@example.com")
        }
        return email
    }

    static func validatePassword(_ password: Secret) throws(WorkspaceError) {
        let (length, hasControl) = password.withRevealedValue {
            ($0.utf8.count, $0.unicodeScalars.contains { $0.properties.generalCategory == .control })
        }
        // bcrypt reads 72 bytes: a longer password would be silently cut.
        guard (12...72).contains(length) else {
            throw WorkspaceError.invalid("password", "Password must be 12 to 72 bytes (about 12 to 72 characters)")
        }
        // A NUL would end the C string bcrypt reads; the rest have no place in a typed password.
        guard !hasControl else {
            throw WorkspaceError.invalid("password", "Password contains forbidden characters")
        }
    }

    /// A bcrypt hash, at `cost`, of a random value no one knows: checking a password against it
    /// takes as long as against a real account's. Made once per cost, on a bcrypt thread.
    private static func decoyHash(cost: UInt8) -> String {
        decoys.withLock { decoys in
            if let hash = decoys[cost] { return hash }
            let hash = Bcrypt.hash(IdentifierSource.system.makeSecret(prefix: "decoy").revealedValue, cost: cost)
            decoys[cost] = hash
            return hash
        }
    }

    private static let decoys = Mutex<[UInt8: String]>([:])

    private func hash(_ password: Secret) async -> String {
        let cost = configuration.bcryptCost
        return await BcryptThreads.shared.run { password.withRevealedValue { Bcrypt.hash($0, cost: cost) } }
    }

    /// Checks `password` against `hash`, or against the decoy when there is no account.
    private func verify(_ password: Secret, hash: String?) async -> Bool {
        let cost = configuration.bcryptCost
        return await BcryptThreads.shared.run {
            let verified = password.withRevealedValue { Bcrypt.verify($0, hash: hash ?? Self.decoyHash(cost: cost)) }
            return verified && hash != nil
        }
    }
}

extension Duration {
    fileprivate var seconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Where bcrypt runs: a quarter of a second of CPU on purpose, so not on the cooperative pool's
/// threads, and at most one per core at once. Sign-ins beyond that wait for a slot without holding
/// a thread (a flood of sign-ins from many addresses cannot exhaust threads).
actor BcryptThreads {
    static let shared = BcryptThreads(width: max(1, ProcessInfo.processInfo.activeProcessorCount))

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int) {
        free = width
    }

    nonisolated func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await acquire()
        let result = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { continuation.resume(returning: work()) }
        }
        await release()
        return result
    }

    private func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}
