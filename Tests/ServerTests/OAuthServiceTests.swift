import Crypto
import Foundation
import Secrets
import SMTP
import SMTPCore
import Synchronization
import Testing
import Vault
import Workspaces

/// Signing in with a provider and keeping its tokens fresh (#21), against a token endpoint in
/// this process that checks what a real one checks: the client, the PKCE verifier, single-use
/// codes, refresh tokens that rotate and can be revoked.
@Suite("OAuth: sign-in, single-use state, token refresh")
struct OAuthServiceTests {
    static let session = Secret("ses_browser_one")
    static let redirect = "https://posthorn.example/settings/oauth/callback"

    /// A provider for the fake endpoint.
    static var provider: OAuthProvider {
        var provider = OAuthProvider.google
        provider.clientID = "client-1"
        provider.clientSecret = Secret("CANARY-client-secret")
        provider.tokenURL = URL(string: "https://oauth.example/token")!
        return provider
    }

    struct Harness {
        let store = InMemoryStore()
        let endpoint = FakeTokenEndpoint()
        let vault = Vault(keyRing: KeyRing(single: MasterKey.generate()))
        let clock = TestClock()

        /// One service for the whole test: access tokens and refreshes under way live in it.
        let service: OAuthService

        func service(vault: Vault) -> OAuthService {
            OAuthService(
                providers: ["google": OAuthServiceTests.provider], credentials: store, authorizations: store, vault: vault,
                endpoint: endpoint, redirectURI: OAuthServiceTests.redirect, now: { [clock] in clock.now })
        }

        func advance(_ seconds: TimeInterval) {
            clock.advance(seconds)
        }

        init() async throws {
            service = OAuthService(
                providers: ["google": OAuthServiceTests.provider], credentials: store, authorizations: store, vault: vault,
                endpoint: endpoint, redirectURI: OAuthServiceTests.redirect, now: { [clock] in clock.now })
            try await store.insertWorkspace(Workspace(id: "ws_1", name: "Acme", createdAt: Date()), tokenHash: "h1")
            try await store.insertWorkspace(Workspace(id: "ws_2", name: "Other", createdAt: Date()), tokenHash: "h2")
        }

        /// Starts a sign-in and lets the fake provider issue a code for its challenge.
        func signIn(name: String = "Support Gmail", session: Secret = OAuthServiceTests.session) async throws -> (state: String, code: String) {
            let url = try await service.start(.new(providerID: "google", name: name), session: session, workspaceID: "ws_1", userID: "usr_1")
            let items = Dictionary(uniqueKeysWithValues: (URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []).map { ($0.name, $0.value ?? "") })
            #expect(items["redirect_uri"] == OAuthServiceTests.redirect)
            #expect(items["code_challenge_method"] == "S256")
            let code = await endpoint.issueCode(challenge: items["code_challenge"] ?? "")
            return (try #require(items["state"]), code)
        }

        func connect() async throws -> SMTPCredential {
            let (state, code) = try await signIn()
            return try await service.complete(.init(state: state, code: Secret(code), error: nil), session: OAuthServiceTests.session, workspaceID: "ws_1").0
        }
    }

    @Test("a sign-in completes in its session: the credential has the account's address, the provider's server and a sealed refresh token")
    func signIn() async throws {
        let harness = try await Harness()
        let (state, code) = try await harness.signIn()
        let (credential, created) = try await harness.service.complete(
            .init(state: state, code: Secret(code), error: nil), session: Self.session, workspaceID: "ws_1")
        #expect(created)
        #expect(credential.username == "alice@example.test")
        #expect(credential.host == "smtp.gmail.com" && credential.port == 587 && credential.security == .startTLS)
        #expect(credential.oauth == OAuthLink(providerID: "google"))
        #expect(!credential.hasPassword)
        let sealed = try #require(credential.sealedPassword)
        #expect(try harness.vault.open(sealed, context: credential.passwordContext).revealedValue == "CANARY-refresh-1")
        #expect(throws: VaultError.self, "sealed for its own field: it cannot be opened as a password") {
            try harness.vault.open(sealed, context: SealContext(workspaceID: "ws_1", credentialID: credential.id, field: "password"))
        }
        #expect(await harness.store.credential(id: credential.id, workspaceID: "ws_1") == credential)
        // The access token from the exchange is used: no refresh yet.
        #expect(try await harness.service.accessToken(for: credential).revealedValue == "CANARY-access-1")
        #expect(await harness.endpoint.refreshes == 0)
    }

    @Test("a state is single-use and completes only in the session and workspace that started it, within 10 minutes")
    func stateBinding() async throws {
        let harness = try await Harness()
        func complete(_ state: String, _ code: String, session: Secret = Self.session, workspace: String = "ws_1") async -> OAuthFlowError? {
            do {
                _ = try await harness.service.complete(.init(state: state, code: Secret(code), error: nil), session: session, workspaceID: workspace)
                return nil
            } catch let error as OAuthFlowError {
                return error
            } catch {
                Issue.record("unexpected \(error)")
                return nil
            }
        }
        let first = try await harness.signIn()
        #expect(await complete(first.state, first.code, session: Secret("ses_attacker"))?.kind == .stateInvalid)
        #expect(await complete(first.state, first.code)?.kind == .stateInvalid, "the failed attempt used the state up")

        let second = try await harness.signIn()
        #expect(await complete(second.state, second.code, workspace: "ws_2")?.kind == .stateInvalid)

        let third = try await harness.signIn()
        harness.advance(601)
        #expect(await complete(third.state, third.code)?.kind == .stateInvalid, "expired")

        #expect(await complete("forged-state", "code")?.kind == .stateInvalid)
        let fourth = try await harness.signIn()
        #expect(await complete(fourth.state, fourth.code) == nil)
        #expect(await complete(fourth.state, fourth.code)?.kind == .stateInvalid, "used")
        #expect(await harness.endpoint.exchanges == 1, "no refused state reached the provider")
        #expect(await harness.store.credentials(workspaceID: "ws_1").count == 1)
    }

    @Test("a denied consent and a code the provider refuses save nothing; the PKCE verifier must match the challenge")
    func refusals() async throws {
        let harness = try await Harness()
        let denied = try await harness.signIn()
        await #expect(throws: OAuthFlowError(.denied, "Access was not granted at Google; nothing was saved.")) {
            try await harness.service.complete(.init(state: denied.state, code: nil, error: "access_denied"), session: Self.session, workspaceID: "ws_1")
        }
        // The provider checks the verifier the service derives against the challenge it sent.
        let (state, _) = try await harness.signIn()
        let foreign = await harness.endpoint.issueCode(challenge: PKCE().challenge)
        await #expect(throws: OAuthFlowError.self) {
            try await harness.service.complete(.init(state: state, code: Secret(foreign), error: nil), session: Self.session, workspaceID: "ws_1")
        }
        #expect(await harness.store.credentials(workspaceID: "ws_1").isEmpty)
    }

    @Test("200 sends across the token's expiry cause exactly one refresh; a rotated refresh token is sealed at once")
    func singleFlight() async throws {
        let harness = try await Harness()
        await harness.endpoint.configure(rotate: true, delay: .milliseconds(50))
        let credential = try await harness.connect()
        harness.advance(3600 - 30)  // within the last minute: renewed before use
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<200 { group.addTask { try await harness.service.accessToken(for: credential).revealedValue } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(tokens == ["CANARY-access-2"])
        #expect(await harness.endpoint.refreshes == 1)
        let stored = try #require(await harness.store.credential(id: credential.id, workspaceID: "ws_1"))
        #expect(try harness.vault.open(try #require(stored.sealedPassword), context: stored.passwordContext).revealedValue == "CANARY-refresh-2")
        #expect(stored.version == credential.version + 1)

        // The next refresh uses the rotated token (the provider refuses the old one now).
        harness.advance(3600)
        #expect(try await harness.service.accessToken(for: stored).revealedValue == "CANARY-access-3")
        #expect(await harness.endpoint.refreshes == 2)
    }

    @Test("a revoked refresh token marks the credential needs-reconnect and fails every waiting send once; later sends ask nobody")
    func revoked() async throws {
        let harness = try await Harness()
        await harness.endpoint.configure(rotate: false, delay: .milliseconds(50))
        let credential = try await harness.connect()
        await harness.endpoint.revokeAll()
        harness.advance(3600)
        let failures = await withTaskGroup(of: OAuthTokenError?.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    do {
                        _ = try await harness.service.accessToken(for: credential)
                        return nil
                    } catch let error as OAuthTokenError {
                        return error
                    } catch {
                        return nil
                    }
                }
            }
            return await group.reduce(into: [OAuthTokenError?]()) { $0.append($1) }
        }
        #expect(failures.count == 50 && failures.allSatisfy { $0 == OAuthTokenError.needsReconnect(providerName: "Google") })
        #expect(await harness.endpoint.refreshAttempts == 1)
        let stored = try #require(await harness.store.credential(id: credential.id, workspaceID: "ws_1"))
        #expect(stored.oauth?.needsReconnect == true)
        await #expect(throws: OAuthTokenError.needsReconnect(providerName: "Google")) { try await harness.service.accessToken(for: stored) }
        #expect(await harness.endpoint.refreshAttempts == 1, "nothing retries a refused sign-in")
        #expect("\(OAuthTokenError.needsReconnect(providerName: "Google"))".contains("Reconnect this credential"))

        // Connecting again clears it and keeps the credential.
        let url = try await harness.service.start(.reconnect(credentialID: credential.id), session: Self.session, workspaceID: "ws_1", userID: "usr_1")
        let items = Dictionary(uniqueKeysWithValues: (URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        let code = await harness.endpoint.issueCode(challenge: items["code_challenge"] ?? "")
        let (again, created) = try await harness.service.complete(
            .init(state: items["state"] ?? "", code: Secret(code), error: nil), session: Self.session, workspaceID: "ws_1")
        #expect(!created && again.id == credential.id && again.oauth?.needsReconnect == false)
    }

    @Test("key rotation re-seals the refresh token; refreshing works under the new key alone")
    func keyRotation() async throws {
        let harness = try await Harness()
        let credential = try await harness.connect()
        let newKey = MasterKey.generate()
        let both = Vault(keyRing: harness.vault.keyRing.adding(newKey, makeActive: true))
        #expect(try await CredentialService(store: harness.store, vault: both).resealAll() == 1)
        let onlyNew = Vault(keyRing: KeyRing(single: newKey))
        harness.advance(3600)
        let stored = try #require(await harness.store.credential(id: credential.id, workspaceID: "ws_1"))
        #expect(stored.sealedPassword?.keyID == newKey.id)
        #expect(try await harness.service(vault: onlyNew).accessToken(for: stored).revealedValue == "CANARY-access-2")
    }

    @Test("an OAuth credential is renamed and limited like any other; its server, TLS, username and password are refused, naming the field")
    func edits() async throws {
        let harness = try await Harness()
        let credential = try await harness.connect()
        let service = CredentialService(store: harness.store, vault: harness.vault)
        var rename = CredentialInput()
        rename.name = "Support Gmail (team)"
        rename.deliveryNotifications = false
        let renamed = try await service.update(credential.id, in: "ws_1", with: rename)
        #expect(renamed.name == "Support Gmail (team)" && renamed.oauth == credential.oauth && renamed.sealedPassword == credential.sealedPassword)
        for (field, input) in [
            ("host", { var input = CredentialInput(); input.host = "smtp.evil.example"; return input }()),
            ("acceptUnverifiedCertificates", { var input = CredentialInput(); input.acceptUnverifiedCertificates = true; return input }()),
            ("username", { var input = CredentialInput(); input.username = .some("mallory@example.test"); return input }()),
            ("password", { var input = CredentialInput(); input.password = .some(Secret("hunter2")); return input }()),
        ] {
            await #expect(throws: WorkspaceError.self, "\(field)") { try await service.update(credential.id, in: "ws_1", with: input) }
            do {
                _ = try await service.update(credential.id, in: "ws_1", with: input)
            } catch let error as WorkspaceError {
                #expect(error.field == field)
            }
        }
        var sameHost = CredentialInput()
        sameHost.host = credential.host
        #expect(try await service.update(credential.id, in: "ws_1", with: sameHost).host == credential.host, "the value it has is no change")
        #expect(throws: WorkspaceError.self, "an OAuth credential has no password configuration") { try service.configuration(for: renamed) }
    }

    @Test("the owner's client for a built-in provider is sealed, used when the environment gives none, and re-sealed by key rotation")
    func ownerClient() async throws {
        let harness = try await Harness()
        let clients = OAuthClientSettings(store: harness.store, vault: harness.vault)
        var unconfigured = OAuthProvider.microsoft
        unconfigured.tokenURL = URL(string: "https://oauth.example/token")!
        let service = OAuthService(
            providers: ["microsoft": unconfigured], credentials: harness.store, authorizations: harness.store, vault: harness.vault,
            endpoint: harness.endpoint, redirectURI: Self.redirect, clients: clients)
        #expect(await service.configuredProviders().isEmpty)
        await #expect(throws: WorkspaceError.self) { try await clients.set("microsoft", clientID: "id with space", secret: Secret("s")) }
        try await clients.set("microsoft", clientID: "ms-client", secret: Secret("CANARY-ms-secret"))
        let stored = try #require(await harness.store.setting("oauth.client.microsoft"))
        #expect(!stored.contains("CANARY-ms-secret"))
        let provider = try #require(await service.provider("microsoft"))
        #expect(provider.clientID == "ms-client" && provider.clientSecret?.revealedValue == "CANARY-ms-secret")
        #expect(await service.configuredProviders().map(\.id) == ["microsoft"])

        let newKey = MasterKey.generate()
        let both = Vault(keyRing: harness.vault.keyRing.adding(newKey, makeActive: true))
        #expect(try await OAuthClientSettings(store: harness.store, vault: both).resealAll() == 1)
        #expect(try await OAuthClientSettings(store: harness.store, vault: both).sealedKeyIDs() == [newKey.id])
        let onlyNew = OAuthClientSettings(store: harness.store, vault: Vault(keyRing: KeyRing(single: newKey)))
        #expect(try await onlyNew.client("microsoft")?.secret.revealedValue == "CANARY-ms-secret")
        try await clients.remove("microsoft")
        #expect(await service.configuredProviders().isEmpty)
    }

    @Test("start refuses an unknown provider, a taken name and a password credential, naming the field")
    func startRefusals() async throws {
        let harness = try await Harness()
        await #expect(throws: WorkspaceError.invalid("provider", "No OAuth provider \"yahoo\" is configured")) {
            try await harness.service.start(.new(providerID: "yahoo", name: "X"), session: Self.session, workspaceID: "ws_1", userID: "usr_1")
        }
        _ = try await harness.connect()
        await #expect(throws: WorkspaceError(.conflict, field: "name", "A credential with this name already exists in this workspace")) {
            try await harness.service.start(.new(providerID: "google", name: "Support Gmail"), session: Self.session, workspaceID: "ws_1", userID: "usr_1")
        }
        try await harness.store.insertCredential(SMTPCredential(
            id: "cred_pw", workspaceID: "ws_1", name: "Relay", host: "smtp.example.com", port: 587, username: nil, security: .startTLS,
            acceptUnverifiedCertificates: false, minimumTLSVersion: .tls12, clientIdentifier: nil, caCertificate: nil, sealedPassword: nil,
            passwordFingerprint: nil, createdAt: Date(), updatedAt: Date()))
        await #expect(throws: WorkspaceError.self) {
            try await harness.service.start(.reconnect(credentialID: "cred_pw"), session: Self.session, workspaceID: "ws_1", userID: "usr_1")
        }
    }
}

/// A clock the tests move.
final class TestClock: Sendable {
    private let value = Mutex(Date(timeIntervalSince1970: 1_800_000_000))

    var now: Date { value.withLock { $0 } }

    func advance(_ seconds: TimeInterval) {
        value.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// A token endpoint that checks the client, the PKCE verifier and single-use codes, and issues
/// numbered tokens (`CANARY-access-n`, `CANARY-refresh-n`).
actor FakeTokenEndpoint: OAuthTokenEndpoint {
    private(set) var exchanges = 0
    private(set) var refreshes = 0
    private(set) var refreshAttempts = 0
    private var codes: [String: String] = [:]
    private var validRefresh: Set<String> = []
    private var rotate = false
    private var delay: Duration = .zero
    private var issued = 0
    private var refreshIssued = 0

    func configure(rotate: Bool, delay: Duration) {
        self.rotate = rotate
        self.delay = delay
    }

    func issueCode(challenge: String) -> String {
        let code = "code-\(codes.count + 1)"
        codes[code] = challenge
        return code
    }

    func revokeAll() { validRefresh.removeAll() }

    func post(form: [(name: String, value: String)], to url: URL) async throws(OAuthEndpointError) -> (status: Int, body: [UInt8]) {
        let fields = Dictionary(form.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        guard fields["client_id"] == "client-1", fields["client_secret"] == "CANARY-client-secret" else {
            return Self.refusal("invalid_client", status: 401)
        }
        switch fields["grant_type"] {
        case "authorization_code":
            guard let code = fields["code"], let challenge = codes.removeValue(forKey: code), let verifier = fields["code_verifier"],
                Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8)))) == challenge,
                fields["redirect_uri"] == OAuthServiceTests.redirect
            else { return Self.refusal("invalid_grant") }
            exchanges += 1
            return tokens(withRefresh: true, idToken: true)
        case "refresh_token":
            refreshAttempts += 1
            if delay > .zero { try? await Task.sleep(for: delay) }
            guard let token = fields["refresh_token"], validRefresh.contains(token) else { return Self.refusal("invalid_grant") }
            refreshes += 1
            if rotate { validRefresh.remove(token) }
            return tokens(withRefresh: rotate, idToken: false)
        default:
            return Self.refusal("unsupported_grant_type")
        }
    }

    func get(_ url: URL, bearer token: Secret) async throws(OAuthEndpointError) -> (status: Int, body: [UInt8]) {
        (404, [])
    }

    private func tokens(withRefresh: Bool, idToken: Bool) -> (status: Int, body: [UInt8]) {
        issued += 1
        var body: [String: Any] = ["access_token": "CANARY-access-\(issued)", "token_type": "Bearer", "expires_in": 3600]
        if withRefresh {
            refreshIssued += 1
            let refresh = "CANARY-refresh-\(refreshIssued)"
            validRefresh.insert(refresh)
            body["refresh_token"] = refresh
        }
        if idToken {
            body["id_token"] = OAuthFoundationTests.idToken(["email": "alice@example.test", "email_verified": true])
        }
        return (200, OAuthFoundationTests.body(body))
    }

    private static func refusal(_ error: String, status: Int = 400) -> (status: Int, body: [UInt8]) {
        (status, OAuthFoundationTests.body(["error": error]))
    }
}
