import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Storage
import TestSupport
import Testing
import Workspaces

/// The OAuth routes (#21) through the router: who may call them, and the owner's client settings.
/// The whole sign-in against a provider runs in scripts/interop/oauth_e2e.py and oauth_browser.py.
@Suite("OAuth API: providers, start, complete, the owner's clients")
struct OAuthAPITests {
    @Test("without a client nothing is offered; the owner sets Google's client, sealed and never shown, and Sign in with Google appears")
    func ownerClients() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let owner = try await harness.setUpOwner(client)
                #expect((try await client.browse(.get, "/api/v1/credentials/oauth/providers", session: owner)["providers"] as? [Any])?.isEmpty == true)
                let before = try await client.browse(.get, "/api/v1/oauth-clients", session: owner)
                #expect(before.status == .ok)
                #expect((before["redirectURI"] as? String)?.hasSuffix("/settings/oauth/callback") == true)
                let sources = (before["clients"] as? [[String: Any]])?.map { "\($0["provider"]!):\($0["source"]!)" }
                #expect(sources == ["google:none", "microsoft:none"])

                let secret = "CANARY-GOCSPX-secret"
                let bad = try await client.browse(
                    .put, "/api/v1/oauth-clients/google", session: owner, json: Browser.json(["clientId": "has space", "clientSecret": secret]))
                #expect(bad.status == .unprocessableContent && bad.errorField == "clientId")
                let unknown = try await client.browse(
                    .put, "/api/v1/oauth-clients/yahoo", session: owner, json: Browser.json(["clientId": "c", "clientSecret": secret]))
                #expect(unknown.status == .notFound)
                let set = try await client.browse(
                    .put, "/api/v1/oauth-clients/google", session: owner,
                    json: Browser.json(["clientId": "123.apps.googleusercontent.com", "clientSecret": secret]))
                #expect(set.status == .ok)
                #expect(!set.text.contains(secret))
                let google = (set["clients"] as? [[String: Any]])?.first { $0["provider"] as? String == "google" }
                #expect(google?["source"] as? String == "settings" && google?["hasSecret"] as? Bool == true)

                let providers = try await client.browse(.get, "/api/v1/credentials/oauth/providers", session: owner)
                #expect((providers["providers"] as? [[String: Any]])?.map { $0["id"] as? String } == ["google"])
                let stored = try #require(try await harness.environment.storage.store.setting("oauth.client.google"))
                #expect(!stored.contains(secret), "sealed in the settings")

                let start = try await client.browse(
                    .post, "/api/v1/credentials/oauth/start", session: owner, json: Browser.json(["provider": "google", "name": "Support"]))
                #expect(start.status == .ok)
                let url = try #require((start["authorizeURL"] as? String).flatMap(URL.init(string:)))
                #expect(url.host == "accounts.google.com")
                #expect(url.absoluteString.contains("client_id=123.apps.googleusercontent.com") && !url.absoluteString.contains(secret))

                #expect(try await client.browse(.delete, "/api/v1/oauth-clients/google", session: owner).status == .noContent)
                #expect((try await client.browse(.get, "/api/v1/credentials/oauth/providers", session: owner)["providers"] as? [Any])?.isEmpty == true)
                #expect(!harness.logs.text.contains(secret))
            }
        }
    }

    @Test("a client from the environment is read-only on the page; only the owner sees or sets clients; start and complete need a session")
    func permissions() async throws {
        try await APIHarness.run({ $0.environment["POSTHORN_OAUTH_MICROSOFT_CLIENT_ID"] = "ms-id"
            $0.environment["POSTHORN_OAUTH_MICROSOFT_CLIENT_SECRET"] = "CANARY-ms-secret" }) { harness in
            try await harness.test { client in
                let owner = try await harness.setUpOwner(client)
                let clients = try await client.browse(.get, "/api/v1/oauth-clients", session: owner)
                let microsoft = (clients["clients"] as? [[String: Any]])?.first { $0["provider"] as? String == "microsoft" }
                #expect(microsoft?["source"] as? String == "environment" && microsoft?["clientId"] as? String == "ms-id")
                #expect(!clients.text.contains("CANARY-ms-secret"))
                let overwrite = try await client.browse(
                    .put, "/api/v1/oauth-clients/microsoft", session: owner, json: Browser.json(["clientId": "x", "clientSecret": "y"]))
                #expect(overwrite.status == .conflict && overwrite.errorCode == "set_by_environment")

                let workspace = try await harness.defaultWorkspace()
                let member = try await harness.account("member@example.com", role: .member, in: workspace.id)
                #expect(try await client.browse(.get, "/api/v1/oauth-clients", session: member.session).errorCode == "owner_required")
                let memberStart = try await client.browse(
                    .post, "/api/v1/credentials/oauth/start", session: member.session, json: Browser.json(["provider": "microsoft", "name": "M"]))
                #expect(memberStart.errorCode == "admin_required")

                let token = try await harness.workspace("Tokens")
                let byToken = try await client.call(
                    .post, "/api/v1/credentials/oauth/start", token: token, json: #"{"provider": "microsoft", "name": "M"}"#)
                #expect(byToken.status == .forbidden && byToken.errorCode == "session_required")
                let complete = try await client.call(
                    .post, "/api/v1/credentials/oauth/complete", token: token, json: #"{"state": "s", "code": "c"}"#)
                #expect(complete.errorCode == "session_required")

                let forged = try await client.browse(
                    .post, "/api/v1/credentials/oauth/complete", session: owner, json: Browser.json(["state": "forged", "code": "c"]))
                #expect(forged.status == .badRequest && forged.errorCode == "oauth_state_invalid")
                #expect(try await harness.environment.storage.store.credentials(workspaceID: workspace.id).isEmpty)
            }
        }
    }
}
