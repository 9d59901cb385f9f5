import Foundation
import Secrets
import SMTPCore
import Testing
import Vault
import Workspaces

/// The pieces of "Sign in with Google or Microsoft" (#21) that decide nothing on their own: PKCE,
/// the authorization URL, and reading a token endpoint's answer.
@Suite("OAuth: PKCE, authorization URL, token responses")
struct OAuthFoundationTests {
    @Test("PKCE S256 gives RFC 7636 appendix B's challenge; a new verifier is 43 base64url characters")
    func pkce() {
        let example = PKCE(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        #expect(example.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        let fresh = PKCE()
        #expect(fresh.verifier.revealedValue.count == 43)
        #expect(fresh.verifier.revealedValue.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(PKCE().verifier.revealedValue != fresh.verifier.revealedValue)
        #expect(!"\(fresh.verifier)".contains(fresh.verifier.revealedValue), "a verifier never prints")
    }

    @Test("the authorization URL carries the code flow, the scopes, state and the S256 challenge, never the verifier")
    func authorizationURL() throws {
        var google = OAuthProvider.google
        #expect(!google.isConfigured)
        #expect(google.authorizationURL(redirectURI: "https://p.example/settings/oauth/callback", state: "s", pkce: PKCE()) == nil,
                "no client id, no URL")
        google.clientID = "123.apps.googleusercontent.com"
        google.clientSecret = Secret("shh")
        let pkce = PKCE()
        let url = try #require(google.authorizationURL(redirectURI: "https://p.example/settings/oauth/callback", state: "st+te", pkce: pkce))
        let items = Dictionary(uniqueKeysWithValues: (URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(url.host == "accounts.google.com")
        #expect(items["response_type"] == "code" && items["client_id"] == "123.apps.googleusercontent.com")
        #expect(items["scope"] == "openid email https://mail.google.com/")
        #expect(items["redirect_uri"] == "https://p.example/settings/oauth/callback")
        #expect(items["state"] == "st+te", "a + in the state survives form decoding")
        #expect(url.absoluteString.contains("state=st%2Bte"))
        #expect(items["code_challenge"] == pkce.challenge && items["code_challenge_method"] == "S256")
        #expect(items["access_type"] == "offline" && items["prompt"] == "consent")
        #expect(!url.absoluteString.contains(pkce.verifier.revealedValue) && !url.absoluteString.contains("shh"))
        #expect(OAuthProvider.microsoft.scopes.contains("offline_access") && OAuthProvider.microsoft.scopes.contains("https://outlook.office.com/SMTP.Send"))
    }

    static func idToken(_ claims: [String: Any]) -> String {
        let payload = Base64URL.encode(Array(try! JSONSerialization.data(withJSONObject: claims)))
        return "eyJhbGciOiJSUzI1NiJ9.\(payload).c2ln"
    }

    static func body(_ object: [String: Any]) -> [UInt8] { Array(try! JSONSerialization.data(withJSONObject: object)) }

    @Test("tokens are read with the account's verified address from the ID token")
    func tokens() throws {
        let answer = try OAuthTokenResponse.parse(status: 200, body: Self.body([
            "access_token": "ya29.a0AfH6SM", "token_type": "Bearer", "expires_in": 3599, "refresh_token": "1//0gLx",
            "scope": "https://mail.google.com/ openid", "id_token": Self.idToken(["email": "ada@example.com", "email_verified": true]),
        ]))
        guard case .tokens(let tokens) = answer else { Issue.record("\(answer)"); return }
        #expect(tokens.accessToken.revealedValue == "ya29.a0AfH6SM" && tokens.refreshToken?.revealedValue == "1//0gLx")
        #expect(tokens.expiresIn == .seconds(3599) && tokens.email == "ada@example.com")
        #expect(!"\(answer)".contains("ya29") && !"\(answer)".contains("1//0gLx"), "tokens never print")

        let unverified = try OAuthTokenResponse.parse(status: 200, body: Self.body([
            "access_token": "a", "token_type": "bearer", "id_token": Self.idToken(["email": "eve@example.com", "email_verified": false]),
        ]))
        guard case .tokens(let other) = unverified else { Issue.record("\(unverified)"); return }
        #expect(other.email == nil && other.refreshToken == nil && other.expiresIn == .seconds(3600))
    }

    @Test("a refusal is read as its code; invalid_grant means connect again")
    func refusal() throws {
        let answer = try OAuthTokenResponse.parse(status: 400, body: Self.body([
            "error": "invalid_grant", "error_description": "Token has been\r\nexpired or revoked.",
        ]))
        guard case .refused(let error, let description) = answer else { Issue.record("\(answer)"); return }
        #expect(error == "invalid_grant" && description == "Token has beenexpired or revoked.")
    }

    @Test("hostile answers are refused: tokens that could rewrite the AUTH line, wrong types, too large, not JSON", arguments: [
        (200, #"{"access_token":"abc\u0001auth=Bearer evil","token_type":"Bearer"}"#),
        (200, #"{"access_token":"abc def","token_type":"Bearer"}"#),
        (200, #"{"access_token":"abc\r\nQUIT","token_type":"Bearer"}"#),
        (200, #"{"access_token":"abc","token_type":"mac"}"#),
        (200, #"{"access_token":"abc","token_type":"Bearer","refresh_token":"r\u0000"}"#),
        (200, #"{"token_type":"Bearer"}"#),
        (200, #"["access_token"]"#),
        (500, #"{"access_token":"abc","token_type":"Bearer"}"#),
        (200, #"{"error":"invalid_grant"}"#),
        (400, #"{"error":"bad code with spaces"}"#),
    ])
    func hostile(status: Int, body: String) {
        #expect(throws: OAuthResponseError.self) { try OAuthTokenResponse.parse(status: status, body: Array(body.utf8)) }
    }

    @Test("a body over 64 KiB is refused before it is parsed")
    func tooLarge() {
        let body = Array(#"{"access_token":"a","token_type":"Bearer","x":""#.utf8) + Array(repeating: UInt8(ascii: "a"), count: 70_000) + Array(#""}"#.utf8)
        #expect(throws: OAuthResponseError.tooLarge) { try OAuthTokenResponse.parse(status: 200, body: body) }
    }

    @Test("the lifetime is bounded: a negative or huge expires_in cannot make a token last for ever")
    func lifetime() throws {
        for (given, expected) in [(-5, 1), (0, 1), (10_000_000, 86_400)] {
            guard case .tokens(let tokens) = try OAuthTokenResponse.parse(status: 200, body: Self.body(["access_token": "a", "token_type": "Bearer", "expires_in": given])) else {
                Issue.record("refused"); continue
            }
            #expect(tokens.expiresIn == .seconds(expected))
        }
    }
}

@Suite("OAuth: the providers an operator configures")
struct OAuthProviderConfigurationTests {
    static let fastmail = #"""
        [{"id": "fastmail", "name": "Fastmail", "authorizeURL": "https://api.fastmail.com/oauth/authorize",
          "tokenURL": "https://api.fastmail.com/oauth/refresh", "scopes": ["openid", "email"], "clientId": "c1",
          "clientSecret": "s1", "smtpHost": "smtp.fastmail.com", "smtpPort": 465, "security": "implicit-tls"},
         {"id": "google", "name": "Google (test)", "authorizeURL": "http://127.0.0.1:9999/authorize",
          "tokenURL": "http://127.0.0.1:9999/token", "userinfoURL": "http://127.0.0.1:9999/userinfo",
          "scopes": ["openid", "email", "https://mail.google.com/"], "clientId": "fake", "clientSecret": "fake-secret",
          "smtpHost": "localhost", "smtpPort": 2525, "security": "starttls"}]
        """#

    @Test("built-in providers take their client from the environment; the file adds providers and replaces built-in ids")
    func load() throws {
        let plain = try OAuthProviderConfiguration.load(environment: [
            "POSTHORN_OAUTH_MICROSOFT_CLIENT_ID": "ms-id", "POSTHORN_OAUTH_MICROSOFT_CLIENT_SECRET": "ms-secret",
        ])
        #expect(plain["microsoft"]?.isConfigured == true && plain["microsoft"]?.clientID == "ms-id")
        #expect(plain["google"]?.isConfigured == false)

        let withFile = try OAuthProviderConfiguration.load(environment: ["POSTHORN_OAUTH_PROVIDERS": "/etc/posthorn/oauth.json"]) { path in
            #expect(path == "/etc/posthorn/oauth.json")
            return Data(Self.fastmail.utf8)
        }
        #expect(withFile["fastmail"]?.security == .implicitTLS && withFile["fastmail"]?.smtpPort == 465)
        #expect(withFile["google"]?.tokenURL.absoluteString == "http://127.0.0.1:9999/token", "the file replaces the built-in id")
        #expect(withFile["google"]?.isConfigured == true)
        #expect(!"\(withFile["google"]!.clientSecret!)".contains("fake-secret"))
        #expect(withFile["google"]?.extraAuthorizeParameters.map(\.name) == ["access_type", "prompt"],
                "a replacement of Google keeps offline access, or there is no refresh token")
        #expect(withFile["fastmail"]?.extraAuthorizeParameters.isEmpty == true)
    }

    @Test("authorizeParameters in the file replace the inherited ones; Posthorn's own parameters cannot be overridden")
    func authorizeParameters() throws {
        let file = #"[{"id":"google","name":"G","authorizeURL":"https://a","tokenURL":"https://a","scopes":["s"],"clientId":"c","clientSecret":"s","smtpHost":"h","smtpPort":587,"security":"starttls","authorizeParameters":{"hd":"example.com"}}]"#
        let providers = try OAuthProviderConfiguration.load(environment: ["POSTHORN_OAUTH_PROVIDERS": "p"]) { _ in Data(file.utf8) }
        #expect(providers["google"]?.extraAuthorizeParameters.map(\.name) == ["hd"])
        let hijack = file.replacingOccurrences(of: #"{"hd":"example.com"}"#, with: #"{"redirect_uri":"https://evil.example"}"#)
        #expect {
            try OAuthProviderConfiguration.load(environment: ["POSTHORN_OAUTH_PROVIDERS": "p"]) { _ in Data(hijack.utf8) }
        } throws: { ($0 as? OAuthConfigurationError)?.field == "POSTHORN_OAUTH_PROVIDERS[0].authorizeParameters.redirect_uri" }
    }

    @Test("a mistake names the entry and the field", arguments: [
        (#"[{"id":"Bad Id","name":"x","authorizeURL":"https://a","tokenURL":"https://a","scopes":["s"],"clientId":"c","clientSecret":"s","smtpHost":"h","smtpPort":587,"security":"starttls"}]"#, "POSTHORN_OAUTH_PROVIDERS[0].id"),
        (#"[{"id":"x","name":"x","authorizeURL":"http://evil.example/a","tokenURL":"https://a","scopes":["s"],"clientId":"c","clientSecret":"s","smtpHost":"h","smtpPort":587,"security":"starttls"}]"#, "POSTHORN_OAUTH_PROVIDERS[0].authorizeURL"),
        (#"[{"id":"x","name":"x","authorizeURL":"https://a","tokenURL":"https://a","scopes":["s"],"clientId":"c","clientSecret":"s","smtpHost":"h","smtpPort":25,"security":"starttls"}]"#, "POSTHORN_OAUTH_PROVIDERS[0].smtpPort"),
        (#"[{"id":"x","name":"x","authorizeURL":"https://a","tokenURL":"https://a","scopes":["s"],"clientId":"c","clientSecret":"s","smtpHost":"h","smtpPort":587,"security":"plaintext"}]"#, "POSTHORN_OAUTH_PROVIDERS[0].security"),
        (#"[{"id":"x","name":"x","authorizeURL":"https://a","tokenURL":"https://a","scopes":["two words"],"clientId":"c","clientSecret":"s","smtpHost":"h","smtpPort":587,"security":"starttls"}]"#, "POSTHORN_OAUTH_PROVIDERS[0].scopes"),
        (#"{"id":"x"}"#, "POSTHORN_OAUTH_PROVIDERS"),
    ])
    func mistakes(file: String, field: String) {
        #expect {
            try OAuthProviderConfiguration.load(environment: ["POSTHORN_OAUTH_PROVIDERS": "p"]) { _ in Data(file.utf8) }
        } throws: { ($0 as? OAuthConfigurationError)?.field == field }
    }

    @Test("a client id without its secret (or the other way round) is refused, naming the missing variable")
    func halfAClient() {
        #expect {
            try OAuthProviderConfiguration.load(environment: ["POSTHORN_OAUTH_GOOGLE_CLIENT_ID": "id"])
        } throws: { ($0 as? OAuthConfigurationError)?.field == "POSTHORN_OAUTH_GOOGLE_CLIENT_SECRET" }
    }
}
