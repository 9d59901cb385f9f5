public import Foundation
public import Secrets
public import SMTPCore

/// The OAuth providers an operator offers: Google and Microsoft with their client id and secret
/// from the environment (`POSTHORN_OAUTH_GOOGLE_CLIENT_ID`/`_SECRET`,
/// `POSTHORN_OAUTH_MICROSOFT_CLIENT_ID`/`_SECRET`), and further providers — or replacements for the
/// built-in ids — from the JSON file `POSTHORN_OAUTH_PROVIDERS` names:
///
/// ```json
/// [{"id": "fastmail", "name": "Fastmail", "authorizeURL": "https://…", "tokenURL": "https://…",
///   "userinfoURL": "https://…", "scopes": ["openid", "email", "…"], "clientId": "…",
///   "clientSecret": "…", "smtpHost": "smtp.fastmail.com", "smtpPort": 465, "security": "implicit-tls"}]
/// ```
///
/// Read at start; a mistake stops the server with the entry and the field it is in.
public enum OAuthProviderConfiguration {
    /// The variable naming the providers file.
    public static let fileVariable = "POSTHORN_OAUTH_PROVIDERS"
    /// The most bytes the file may hold.
    static let maximumFileBytes = 1024 * 1024

    /// The providers by id: the built-in ones (given a client when the environment has one), then
    /// the file's.
    public static func load(
        environment: [String: String], readFile: (String) throws -> Data = { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    ) throws(OAuthConfigurationError) -> [String: OAuthProvider] {
        var providers: [String: OAuthProvider] = [:]
        for (builtIn, prefix) in [(OAuthProvider.google, "POSTHORN_OAUTH_GOOGLE"), (OAuthProvider.microsoft, "POSTHORN_OAUTH_MICROSOFT")] {
            var provider = builtIn
            let id = environment["\(prefix)_CLIENT_ID"].flatMap { $0.isEmpty ? nil : $0 }
            let secret = environment["\(prefix)_CLIENT_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
            guard (id == nil) == (secret == nil) else {
                throw OAuthConfigurationError(field: id == nil ? "\(prefix)_CLIENT_ID" : "\(prefix)_CLIENT_SECRET", "is required with the other one")
            }
            provider.clientID = id
            provider.clientSecret = secret.map(Secret.init)
            providers[provider.id] = provider
        }
        guard let path = environment[fileVariable], !path.isEmpty else { return providers }
        let data: Data
        do {
            data = try readFile(path)
        } catch {
            throw OAuthConfigurationError(field: fileVariable, "\(path) cannot be read")
        }
        guard data.count <= maximumFileBytes else { throw OAuthConfigurationError(field: fileVariable, "is larger than 1 MB") }
        let entries: [Entry]
        do {
            entries = try JSONDecoder().decode([Entry].self, from: data)
        } catch {
            throw OAuthConfigurationError(field: fileVariable, "must be a JSON array of providers, each with the fields of the documentation")
        }
        var seen: Set<String> = []
        for (index, entry) in entries.enumerated() {
            var provider = try entry.provider(field: "\(fileVariable)[\(index)]")
            // A replacement of Google keeps what Google needs for a refresh token (offline access,
            // consent again), unless the entry says otherwise.
            provider.extraAuthorizeParameters = try entry.authorizeParameterList(field: "\(fileVariable)[\(index)].authorizeParameters")
                ?? providers[provider.id]?.extraAuthorizeParameters ?? []
            if let file = entry.caCertificateFile {
                let field = "\(fileVariable)[\(index)].caCertificateFile"
                guard let pem = try? readFile(file), pem.count <= 256 * 1024, let text = String(data: pem, encoding: .utf8),
                    text.contains("-----BEGIN CERTIFICATE-----")
                else { throw OAuthConfigurationError(field: field, "\(file) cannot be read as PEM certificates (at most 256 KB)") }
                provider.caCertificate = text
            }
            guard seen.insert(provider.id).inserted else { throw OAuthConfigurationError(field: "\(fileVariable)[\(index)].id", "\(provider.id) is listed twice") }
            providers[provider.id] = provider
        }
        return providers
    }

    private struct Entry: Decodable {
        var id: String
        var name: String
        var authorizeURL: String
        var tokenURL: String
        var userinfoURL: String?
        var scopes: [String]
        var clientId: String
        var clientSecret: String
        var smtpHost: String
        var smtpPort: Int
        var security: String
        var caCertificateFile: String?
        /// Added to the authorization URL (Google's `access_type`, `prompt`), by name.
        var authorizeParameters: [String: String]?

        func authorizeParameterList(field: String) throws(OAuthConfigurationError) -> [(name: String, value: String)]? {
            guard let authorizeParameters else { return nil }
            let reserved: Set<String> = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"]
            for (name, value) in authorizeParameters {
                guard OAuthTokenResponse.isToken(name, maximum: 64), !reserved.contains(name) else {
                    throw OAuthConfigurationError(field: "\(field).\(name)", "must be a parameter name Posthorn does not set itself")
                }
                guard OAuthTokenResponse.isToken(value, maximum: 256) else {
                    throw OAuthConfigurationError(field: "\(field).\(name)", "must be 1 to 256 visible characters")
                }
            }
            return authorizeParameters.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        }

        func provider(field: String) throws(OAuthConfigurationError) -> OAuthProvider {
            guard !id.isEmpty, id.utf8.count <= 32, id.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }) else {
                throw OAuthConfigurationError(field: "\(field).id", "must be 1 to 32 of a-z, 0-9 and -")
            }
            guard !name.isEmpty, name.count <= 64, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw OAuthConfigurationError(field: "\(field).name", "must be 1 to 64 characters without control characters")
            }
            let authorize = try Self.endpoint(authorizeURL, field: "\(field).authorizeURL")
            let token = try Self.endpoint(tokenURL, field: "\(field).tokenURL")
            let userinfo = try userinfoURL.map { (url) throws(OAuthConfigurationError) in try Self.endpoint(url, field: "\(field).userinfoURL") }
            guard !scopes.isEmpty, scopes.allSatisfy({ OAuthTokenResponse.isToken($0, maximum: 200) }) else {
                throw OAuthConfigurationError(field: "\(field).scopes", "must be a list of scope names without spaces")
            }
            guard OAuthTokenResponse.isToken(clientId, maximum: 512) else {
                throw OAuthConfigurationError(field: "\(field).clientId", "must be 1 to 512 visible characters")
            }
            guard OAuthTokenResponse.isToken(clientSecret, maximum: 512) else {
                throw OAuthConfigurationError(field: "\(field).clientSecret", "must be 1 to 512 visible characters")
            }
            guard !smtpHost.isEmpty, smtpHost.utf8.count <= 253, !smtpHost.contains(where: { $0.isWhitespace || $0 == "/" }) else {
                throw OAuthConfigurationError(field: "\(field).smtpHost", "must be a host name")
            }
            // Port 25 is for servers relaying to each other, not for a client that authenticates.
            guard (1...65_535).contains(smtpPort), smtpPort != 25 else {
                throw OAuthConfigurationError(field: "\(field).smtpPort", "must be 1 to 65535 and not 25 (use 587 or 465)")
            }
            // A token is a password for as long as it lives: never over plaintext.
            guard let security = SMTPSecurity(rawValue: security), security != .plaintext else {
                throw OAuthConfigurationError(field: "\(field).security", "must be starttls or implicit-tls")
            }
            return OAuthProvider(
                id: id, name: name, authorizeURL: authorize, tokenURL: token, userinfoURL: userinfo, scopes: scopes, clientID: clientId,
                clientSecret: Secret(clientSecret), smtpHost: smtpHost, smtpPort: smtpPort, security: security)
        }

        /// An https URL — or http to a loopback host, for a provider on the same machine (tests).
        static func endpoint(_ text: String, field: String) throws(OAuthConfigurationError) -> URL {
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
                url.user == nil, url.fragment == nil,
                scheme == "https" || (scheme == "http" && ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased()))
            else {
                throw OAuthConfigurationError(field: field, "must be an https URL (http only to 127.0.0.1, ::1 or localhost)")
            }
            return url
        }
    }
}

/// A mistake in the OAuth provider configuration, naming where it is.
public struct OAuthConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String

    init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}
