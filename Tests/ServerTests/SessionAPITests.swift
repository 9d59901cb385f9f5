import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Secrets
import Server
import Storage
import TestSupport
import Testing
import Workspaces

@Suite("API: setup, sign-in and browser sessions")
struct SessionAPITests {
    // MARK: - Setup

    @Test("setup is needed until the first account; a wrong token is 403, the right one works once")
    func setup() async throws {
        try await APIHarness.run { harness in
            let users = harness.environment.services.users
            try await harness.test { client in
                #expect(try await client.call(.get, "/api/v1/setup", token: nil)["needed"] as? Bool == true)
                let token = try #require(try await users.prepareSetup()).revealedValue
                #expect(token.hasPrefix("setup_"))
                func body(_ token: String, email: String = "Owner@Example.com", password: String = Browser.ownerPassword) -> String {
                    Browser.json(["token": token, "email": email, "name": "Owner", "password": password])
                }

                let wrong = try await client.browse(.post, "/api/v1/setup", session: nil, json: body("setup_" + String(repeating: "a", count: 52)))
                #expect(wrong.status == .forbidden)
                #expect(wrong.errorCode == "invalid_setup_token")
                #expect(wrong.sessionCookie == nil)
                let weak = try await client.browse(.post, "/api/v1/setup", session: nil, json: body(token, password: "short"))
                #expect(weak.status == .unprocessableContent)
                #expect(weak.errorField == "password")
                let badEmail = try await client.browse(.post, "/api/v1/setup", session: nil, json: body(token, email: "not-an-email"))
                #expect(badEmail.status == .unprocessableContent)
                #expect(badEmail.errorField == "email")
                let crossSite = try await client.browse(.post, "/api/v1/setup", session: nil, origin: "https://evil.example", json: body(token))
                #expect(crossSite.status == .forbidden)
                #expect(crossSite.errorCode == "csrf_refused")
                #expect(try await client.call(.get, "/api/v1/setup", token: nil)["needed"] as? Bool == true, "nothing refused used the token")

                // curl sends no Origin: allowed, it cannot carry anyone's cookie.
                let created = try await client.browse(.post, "/api/v1/setup", session: nil, origin: nil, json: body(token))
                #expect(created.status == .created, "\(created.text)")
                #expect(created.user["email"] as? String == "owner@example.com")
                #expect(created.user["isOwner"] as? Bool == true)
                #expect(created.workspaceRoles == ["default": "admin"])
                #expect(created.sessionCookie?.value.hasPrefix("ses_") == true)
                #expect(try await client.call(.get, "/api/v1/setup", token: nil)["needed"] as? Bool == false)

                let again = try await client.browse(.post, "/api/v1/setup", session: nil, json: body(token, email: "second@example.com"))
                #expect(again.status == .forbidden)
                #expect(again.errorCode == "invalid_setup_token")
                #expect(again.sessionCookie == nil)
                #expect(try await users.allUsers().map(\.email) == ["owner@example.com"])
                #expect(try await users.prepareSetup() == nil, "no new link once an account exists")
            }
        }
    }

    @Test("a new start's setup link replaces the one before")
    func setupLinkReplaced() async throws {
        try await APIHarness.run { harness in
            let users = harness.environment.services.users
            let first = try #require(try await users.prepareSetup()).revealedValue
            let second = try #require(try await users.prepareSetup()).revealedValue
            #expect(first != second)
            try await harness.test { client async throws in
                let body = { (token: String) in
                    Browser.json(["token": token, "email": "owner@example.com", "name": "Owner", "password": Browser.ownerPassword])
                }
                #expect(try await client.browse(.post, "/api/v1/setup", session: nil, json: body(first)).errorCode == "invalid_setup_token")
                #expect(try await client.browse(.post, "/api/v1/setup", session: nil, json: body(second)).status == .created)
            }
        }
    }

    // MARK: - The cookie

    @Test("the session cookie is HttpOnly, SameSite=Strict, Path=/, kept 30 days, and not Secure over plain http")
    func cookieFlags() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let token = try #require(try await harness.environment.services.users.prepareSetup()).revealedValue
                let setup = try await client.browse(
                    .post, "/api/v1/setup", session: nil,
                    json: Browser.json(["token": token, "email": Browser.ownerEmail, "name": "Owner", "password": Browser.ownerPassword]))
                let signIn = try await client.browse(
                    .post, "/api/v1/session", session: nil, json: Browser.json(["email": Browser.ownerEmail, "password": Browser.ownerPassword]))
                for response in [setup, signIn] {
                    let cookie = try #require(response.sessionCookie, "\(response.headers)")
                    #expect(cookie.value.hasPrefix("ses_"))
                    #expect(cookie.value.count == 56, "ses_ and 52 base32 characters (256 bits)")
                    #expect(cookie.attributes["httponly"] == "")
                    #expect(cookie.attributes["samesite"]?.lowercased() == "strict")
                    #expect(cookie.attributes["path"] == "/")
                    #expect(cookie.attributes["max-age"] == "\(30 * 86_400)")
                    #expect(cookie.attributes["secure"] == nil)
                    #expect(cookie.attributes["domain"] == nil, "host-only")
                    #expect(!response.text.contains(cookie.value), "the session id travels in the cookie only")
                }
                #expect(setup.sessionCookie?.value != signIn.sessionCookie?.value)
            }
        }
    }

    @Test("behind an https public URL: the cookie is Secure, only that origin may change things, links are absolute")
    func publicURL() async throws {
        let publicOrigin = "https://posthorn.example.com"
        try await APIHarness.run({ $0.publicURL = URL(string: publicOrigin) }) { harness in
            try await harness.test { client in
                let token = try #require(try await harness.environment.services.users.prepareSetup()).revealedValue
                let body = Browser.json(["token": token, "email": Browser.ownerEmail, "name": "Owner", "password": Browser.ownerPassword])
                let fromHost = try await client.browse(.post, "/api/v1/setup", session: nil, origin: Browser.origin, json: body)
                #expect(fromHost.status == .forbidden, "the request's Host does not count once a public URL is set")
                #expect(fromHost.errorCode == "csrf_refused")
                let setup = try await client.browse(.post, "/api/v1/setup", session: nil, origin: publicOrigin, json: body)
                #expect(setup.status == .created)
                let cookie = try #require(setup.sessionCookie)
                #expect(cookie.attributes["secure"] == "")
                #expect(cookie.attributes["httponly"] == "")

                let refused = try await client.browse(
                    .post, "/api/v1/tokens", session: cookie.value, origin: Browser.origin, json: #"{"name":"From host"}"#)
                #expect(refused.status == .forbidden)
                #expect(refused.errorCode == "csrf_refused")
                let made = try await client.browse(.post, "/api/v1/tokens", session: cookie.value, origin: publicOrigin, json: #"{"name":"From app"}"#)
                #expect(made.status == .created)

                let invite = try await client.browse(.post, "/api/v1/invites", session: cookie.value, origin: publicOrigin, json: #"{"role":"member"}"#)
                #expect((invite["url"] as? String)?.hasPrefix(publicOrigin + "/invite#inv_") == true, "\(invite.text)")

                let signOut = try await client.browse(.delete, "/api/v1/session", session: cookie.value, origin: publicOrigin)
                #expect(signOut.status == .noContent)
                #expect(signOut.sessionCookie?.attributes["secure"] == "", "the clearing cookie matches the one it replaces")
            }
        }
    }

    /// Browsers leave the scheme's default port out of `Origin` and write IPv6 hosts in brackets.
    @Test("a public URL's origin is written the way browsers send Origin", arguments: [
        ("https://posthorn.example.com", "https://posthorn.example.com"),
        ("https://Posthorn.Example.COM/", "https://posthorn.example.com"),
        ("https://posthorn.example.com:8443", "https://posthorn.example.com:8443"),
        ("https://posthorn.example.com:443", "https://posthorn.example.com"),
        ("http://posthorn.example.com:80/", "http://posthorn.example.com"),
        ("http://10.0.0.5:8080", "http://10.0.0.5:8080"),
        ("http://[fd00::5]:8080", "http://[fd00::5]:8080"),
    ])
    func publicOrigin(url: String, origin: String) throws {
        let policy = BrowserPolicy(publicURL: try #require(URL(string: url)), cookieLifetime: .seconds(60))
        #expect(policy.publicOrigin == origin)
        #expect(policy.secureCookie == url.hasPrefix("https"))
    }

    // MARK: - Signing in

    @Test("sign-in: 200 with a session; a wrong password and an unknown email are the same 401")
    func signIn() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                _ = try await harness.setUpOwner(client)
                let signedIn = try await client.browse(
                    .post, "/api/v1/session", session: nil, json: Browser.json(["email": " OWNER@example.com", "password": Browser.ownerPassword]))
                #expect(signedIn.status == .ok, "\(signedIn.text)")
                #expect(signedIn.user["email"] as? String == Browser.ownerEmail)
                #expect(signedIn.workspaceRoles == ["default": "admin"])
                let session = try #require(signedIn.sessionCookie?.value)
                #expect(try await client.browse(.get, "/api/v1/session", session: session, origin: nil).status == .ok)

                let wrong = try await client.browse(
                    .post, "/api/v1/session", session: nil, json: Browser.json(["email": Browser.ownerEmail, "password": "wrong-password-0123"]))
                let unknown = try await client.browse(
                    .post, "/api/v1/session", session: nil, json: Browser.json(["email": "nobody@example.com", "password": Browser.ownerPassword]))
                for refused in [wrong, unknown] {
                    #expect(refused.status == .unauthorized)
                    #expect(refused.errorCode == "invalid_credentials")
                    #expect(refused.sessionCookie == nil)
                }
                #expect(wrong.errorMessage == unknown.errorMessage, "the answer does not tell which emails have accounts")

                let crossSite = try await client.browse(
                    .post, "/api/v1/session", session: nil, origin: "https://evil.example",
                    json: Browser.json(["email": Browser.ownerEmail, "password": Browser.ownerPassword]))
                #expect(crossSite.status == .forbidden, "a login CSRF is refused")
                #expect(crossSite.errorCode == "csrf_refused")
                #expect(crossSite.sessionCookie == nil)
            }
        }
    }

    @Test("five failed sign-ins for one account from one address: 429 with Retry-After, even with the right password")
    func throttle() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                _ = try await harness.setUpOwner(client)
                _ = try await harness.account("mia@example.com", in: try await harness.defaultWorkspace().id)
                let wrong = Browser.json(["email": Browser.ownerEmail, "password": "wrong-password-0123"])
                for attempt in 1...5 {
                    let refused = try await client.browse(.post, "/api/v1/session", session: nil, json: wrong)
                    #expect(refused.status == .unauthorized, "attempt \(attempt)")
                    #expect(refused.headers[.retryAfter] == nil)
                }
                let locked = try await client.browse(
                    .post, "/api/v1/session", session: nil, json: Browser.json(["email": Browser.ownerEmail, "password": Browser.ownerPassword]))
                #expect(locked.status == .tooManyRequests)
                #expect(locked.errorCode == "too_many_attempts")
                #expect(locked.sessionCookie == nil)
                let wait = try #require(locked.headers[.retryAfter].flatMap { Int($0) }, "\(locked.headers)")
                #expect((1...900).contains(wait))

                let other = try await client.browse(
                    .post, "/api/v1/session", session: nil, json: Browser.json(["email": "mia@example.com", "password": Browser.memberPassword]))
                #expect(other.status == .ok, "another account from that address is not locked out")
            }
        }
    }

    // MARK: - The session

    @Test("GET /session shows who is signed in; signing out ends the session and clears the cookie")
    func sessionLifecycle() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let session = try await harness.setUpOwner(client)
                let anonymous = try await client.browse(.get, "/api/v1/session", session: nil, origin: nil)
                #expect(anonymous.status == .unauthorized)
                #expect(anonymous.errorCode == "not_signed_in")

                let me = try await client.browse(.get, "/api/v1/session", session: session, origin: nil)
                #expect(me.status == .ok)
                #expect(me.user["email"] as? String == Browser.ownerEmail)
                #expect(me.user["isOwner"] as? Bool == true)
                #expect(me.workspaceRoles == ["default": "admin"])
                let workspace = try await client.browse(.get, "/api/v1/workspace", session: session, origin: nil)
                #expect(workspace["name"] as? String == "default")

                let crossSite = try await client.browse(.delete, "/api/v1/session", session: session, origin: "https://evil.example")
                #expect(crossSite.status == .forbidden)
                #expect(crossSite.errorCode == "csrf_refused")
                #expect(try await client.browse(.get, "/api/v1/session", session: session, origin: nil).status == .ok, "a forged sign-out ends nothing")

                let signOut = try await client.browse(.delete, "/api/v1/session", session: session)
                #expect(signOut.status == .noContent)
                let cleared = try #require(signOut.sessionCookie)
                #expect(cleared.value == "")
                #expect(cleared.attributes["max-age"] == "0")

                let ended = try await client.browse(.get, "/api/v1/session", session: session, origin: nil)
                #expect(ended.status == .unauthorized)
                #expect(ended.errorCode == "session_ended")
                #expect(ended.sessionCookie?.value == "", "a dead cookie is cleared")
                let api = try await client.browse(.get, "/api/v1/credentials", session: session, origin: nil)
                #expect(api.status == .unauthorized)
                #expect(api.errorCode == "session_ended")
                #expect(try await client.browse(.delete, "/api/v1/session", session: session).status == .noContent)
                let noCookie = try await client.browse(.delete, "/api/v1/session", session: nil)
                #expect(noCookie.errorCode == "not_signed_in")
            }
        }
    }

    @Test("a cookie-authenticated change without Posthorn's own Origin is 403 csrf_refused and changes nothing", arguments: [
        nil, "https://evil.example", "http://localhost.evil.example", "http://localhost:8080", "null", "http://evil.example/http://localhost",
    ] as [String?])
    func crossSiteChange(origin: String?) async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let session = try await harness.setUpOwner(client)
                let before = try await client.browse(.get, "/api/v1/tokens", session: session, origin: nil)
                #expect(before.status == .ok)

                let refused = try await client.browse(.post, "/api/v1/tokens", session: session, origin: origin, json: #"{"name":"Stolen"}"#)
                #expect(refused.status == .forbidden)
                #expect(refused.errorCode == "csrf_refused")
                let deleted = try await client.browse(.delete, "/api/v1/tokens/tok_whatever", session: session, origin: origin)
                #expect(deleted.errorCode == "csrf_refused")
                let created = try await client.browse(.post, "/api/v1/credentials", session: session, origin: origin, json: #"{"name":"x","host":"smtp.example.com"}"#)
                #expect(created.errorCode == "csrf_refused")

                #expect(try await client.browse(.get, "/api/v1/tokens", session: session, origin: nil).json == before.json)
                #expect((try await client.browse(.get, "/api/v1/credentials", session: session, origin: nil)["credentials"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test("the request's own host passes as the origin under either scheme", arguments: ["http://localhost", "https://localhost", "HTTP://LOCALHOST"])
    func sameOrigin(origin: String) async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let session = try await harness.setUpOwner(client)
                let made = try await client.browse(.post, "/api/v1/tokens", session: session, origin: origin, json: #"{"name":"From the app"}"#)
                #expect(made.status == .created, "\(made.text)")
                #expect(made["token"] as? String != nil)
            }
        }
    }

    /// Sessions are written into the store as a long-running server would have left them.
    @Test("a session past its absolute limit or idle 24 hours is 401 session_ended and deleted; a live one is touched", arguments: [
        "absolute", "idle", "live",
    ])
    func expiry(kind: String) async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let owner = try await harness.setUpOwner(client)
                let userID = try #require(try await client.browse(.get, "/api/v1/session", session: owner, origin: nil).user["id"] as? String)
                let now = Date()
                let hour: TimeInterval = 3600
                let session = switch kind {
                case "absolute": BrowserSession(userID: userID, createdAt: now - 31 * 24 * hour, lastSeenAt: now - 60, expiresAt: now - 1)
                case "idle": BrowserSession(userID: userID, createdAt: now - 48 * hour, lastSeenAt: now - 24 * hour - 1, expiresAt: now + 28 * 24 * hour)
                default: BrowserSession(userID: userID, createdAt: now - 48 * hour, lastSeenAt: now - 23 * hour, expiresAt: now + 28 * 24 * hour)
                }
                let value = IdentifierSource.system.makeSecret(prefix: "ses")
                let store = harness.environment.storage.store
                try await store.insertSession(idHash: TokenHash.of(value), session: session)

                let response = try await client.browse(.get, "/api/v1/session", session: value.revealedValue, origin: nil)
                let stored = try await store.session(idHash: TokenHash.of(value))
                if kind == "live" {
                    #expect(response.status == .ok)
                    #expect(response.sessionCookie == nil)
                    #expect(try #require(stored).lastSeenAt > now - 5, "a use more than a minute after the last is recorded")
                } else {
                    #expect(response.status == .unauthorized)
                    #expect(response.errorCode == "session_ended")
                    #expect(response.sessionCookie?.value == "")
                    #expect(stored == nil)
                    let api = try await client.browse(.post, "/api/v1/tokens", session: value.revealedValue, json: #"{"name":"Late"}"#)
                    #expect(api.errorCode == "session_ended")
                }
            }
        }
    }

    @Test("a session sees only its person's workspaces; X-Workspace-Id picks one of them and another is 404")
    func workspaceChoice() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let owner = try await harness.setUpOwner(client)
                let team = try await harness.workspaceWithID("Team")
                let other = try await harness.workspaceWithID("Other")
                let defaultID = try await harness.defaultWorkspace().id
                let member = try await harness.account("mia@example.com", role: .member, in: team.id)

                let mine = try await client.browse(.get, "/api/v1/session", session: member.session, origin: nil)
                #expect(mine.workspaceRoles == ["Team": "member"])
                #expect(mine.user["isOwner"] as? Bool == false)
                #expect(try await client.browse(.get, "/api/v1/workspace", session: member.session, origin: nil)["id"] as? String == team.id)
                #expect(try await client.browse(.get, "/api/v1/workspace", session: member.session, origin: nil, workspace: team.id)["id"] as? String == team.id)
                for foreign in [defaultID, other.id, "ws_missing"] {
                    for path in ["/api/v1/workspace", "/api/v1/credentials", "/api/v1/flows", "/api/v1/session"] {
                        let refused = try await client.browse(.get, path, session: member.session, origin: nil, workspace: foreign)
                        #expect(refused.status == .notFound, "\(path) in \(foreign)")
                        #expect(refused.errorField == "X-Workspace-Id", "\(path)")
                        #expect(refused.errorCode == "workspace_not_found", "\(path)")
                    }
                }

                let owners = try await client.browse(.get, "/api/v1/session", session: owner, origin: nil)
                #expect(owners.workspaceRoles == ["default": "admin", "Team": "admin", "Other": "admin"])
                let first = try #require((owners["workspaces"] as? [[String: Any]])?.first?["id"] as? String)
                #expect(try await client.browse(.get, "/api/v1/workspace", session: owner, origin: nil)["id"] as? String == first, "no header: the first")
                #expect(try await client.browse(.get, "/api/v1/workspace", session: owner, origin: nil, workspace: other.id)["id"] as? String == other.id)

                let loner = try await harness.account("lone@example.com", in: nil)
                #expect(try await client.browse(.get, "/api/v1/session", session: loner.session, origin: nil).workspaceRoles.isEmpty)
                let nowhere = try await client.browse(.get, "/api/v1/credentials", session: loner.session, origin: nil)
                #expect(nowhere.status == .forbidden)
                #expect(nowhere.errorCode == "no_workspace")
            }
        }
    }

    // MARK: - Secrets

    @Test("passwords, session ids, setup and invite tokens reach no response body and no log line")
    func canaries() async throws {
        let setupPassword = "Setup-Canary-Pa55-8d1e"
        let memberPassword = "Member-Canary-Pa55-4a0c"
        let credentialPassword = "Cred-Canary-Pa55-2b7c"
        let responses = ResponseLog()
        let secrets = ResponseLog()
        try await APIHarness.run { harness in
            let setupToken = try #require(try await harness.environment.services.users.prepareSetup()).revealedValue
            try await harness.test { client in
                func keep(_ response: APIResponse) -> APIResponse {
                    responses.append(response.text)
                    if let value = response.sessionCookie?.value, !value.isEmpty { secrets.append(value) }
                    return response
                }
                let setup = keep(try await client.browse(
                    .post, "/api/v1/setup", session: nil,
                    json: Browser.json(["token": setupToken, "email": Browser.ownerEmail, "name": "Owner", "password": setupPassword])))
                let session = try #require(setup.sessionCookie?.value)
                _ = keep(try await client.browse(.post, "/api/v1/session", session: nil, json: Browser.json(["email": Browser.ownerEmail, "password": setupPassword])))
                _ = keep(try await client.browse(.post, "/api/v1/session", session: nil, json: Browser.json(["email": Browser.ownerEmail, "password": setupPassword + "x"])))
                _ = keep(try await client.browse(.post, "/api/v1/setup", session: nil, json: Browser.json(["token": setupToken, "email": "b@example.com", "name": "B", "password": setupPassword])))

                let form: [String: Any] = ["name": "Relay", "host": "10.1.2.3", "port": 587, "username": "alice", "password": credentialPassword]
                let created = keep(try await client.browse(.post, "/api/v1/credentials", session: session, json: Browser.json(form)))
                let id = try #require(created["id"] as? String)
                _ = keep(try await client.browse(.post, "/api/v1/credentials/test", session: session, json: Browser.json(form)))
                _ = keep(try await client.browse(.post, "/api/v1/credentials/test", session: session, json: Browser.json(["credentialId": id, "host": "10.9.9.9", "password": credentialPassword])))
                _ = keep(try await client.browse(.post, "/api/v1/credentials/\(id)/test", session: session))
                _ = keep(try await client.browse(.get, "/api/v1/credentials", session: session, origin: nil))
                _ = keep(try await client.browse(.get, "/api/v1/credentials/\(id)", session: session, origin: nil))

                let invite = try await client.browse(.post, "/api/v1/invites", session: session, json: #"{"role":"member"}"#)
                let inviteToken = String(try #require((invite["url"] as? String)?.split(separator: "#").last))
                secrets.append(inviteToken)
                _ = keep(try await client.browse(.post, "/api/v1/invites/preview", session: nil, json: Browser.json(["token": inviteToken])))
                _ = keep(try await client.browse(
                    .post, "/api/v1/invites/accept", session: nil,
                    json: Browser.json(["token": inviteToken, "email": "mia@example.com", "name": "Mia", "password": memberPassword])))
                _ = keep(try await client.browse(.get, "/api/v1/members", session: session, origin: nil))
                _ = keep(try await client.browse(.delete, "/api/v1/session", session: session))
            }
            let logs = harness.logs.text
            #expect(!logs.isEmpty, "trace logging reached the capture")
            for canary in [setupPassword, memberPassword, credentialPassword] {
                for form in [canary, Data(canary.utf8).base64EncodedString()] {
                    #expect(!responses.text.contains(form), "a response holds \(form)")
                    #expect(!logs.contains(form), "a log line holds \(form)")
                }
            }
            for secret in secrets.text.split(separator: "\n") + [Substring(setupToken)] {
                #expect(!logs.contains(secret), "a log line holds a token \(secret.prefix(8))…")
                #expect(!logs.contains(TokenHash.of(Secret(String(secret)))), "a log line holds a token's hash")
                #expect(!responses.text.contains(secret), "a response body holds a token \(secret.prefix(8))…")
            }
        }
    }
}
