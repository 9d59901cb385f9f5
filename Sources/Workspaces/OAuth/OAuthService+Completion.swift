public import Foundation
public import Secrets
import SMTPCore
import Vault

/// Why a sign-in did not complete. Safe to show: no code, token or state in it.
public struct OAuthFlowError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Unknown, used, expired, or started in another session or workspace (HTTP 400).
        case stateInvalid = "oauth_state_invalid"
        /// The person did not grant access at the provider (HTTP 400).
        case denied = "oauth_denied"
        /// The provider did not accept the code, or its answer was unusable (HTTP 502).
        case exchangeFailed = "oauth_exchange_failed"
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static let stateInvalid = OAuthFlowError(
        .stateInvalid,
        "This sign-in is not valid: it has expired, was already used, or was started in another browser session. Start again from the Credentials page.")
}

extension OAuthService {
    /// What the provider sent the browser back with.
    public struct Callback: Sendable {
        public var state: String
        public var code: Secret?
        /// `access_denied` and the like, when the person refused or the provider failed.
        public var error: String?

        public init(state: String, code: Secret?, error: String?) {
            self.state = state
            self.code = code
            self.error = error
        }
    }

    /// Completes a sign-in in the session that started it: takes the pending sign-in (once, even
    /// when completing fails), exchanges the code with its PKCE verifier, seals the refresh token
    /// and stores the credential — new, or the one connected again (then its refusal is cleared
    /// and its server settings follow the provider's).
    ///
    /// - Returns: the credential and whether it is new.
    /// - Throws: ``OAuthFlowError``; ``WorkspaceError`` `conflict` naming `name` when the name was
    ///   taken meanwhile.
    public func complete(_ callback: Callback, session: Secret, workspaceID: String) async throws -> (SMTPCredential, created: Bool) {
        guard callback.state.utf8.count <= 256, OAuthTokenResponse.isToken(callback.state, maximum: 256),
            let pending = try await authorizations.takeAuthorization(stateHash: TokenHash.of(Secret(callback.state))),
            pending.sessionHash == TokenHash.of(session), pending.workspaceID == workspaceID, pending.expiresAt > now()
        else { throw OAuthFlowError.stateInvalid }
        guard let provider = await provider(pending.providerID), provider.isConfigured else {
            throw OAuthFlowError(.exchangeFailed, "The provider of this sign-in is no longer configured on this server.")
        }
        if callback.error != nil {
            throw OAuthFlowError(.denied, "Access was not granted at \(provider.name); nothing was saved.")
        }
        guard let code = callback.code, code.withRevealedValue({ OAuthTokenResponse.isToken($0, maximum: 4096) }) else {
            throw OAuthFlowError(.exchangeFailed, "\(provider.name) sent no usable code. Start again.")
        }
        guard let verifier = verifier(for: callback.state, keyID: pending.keyID) else { throw OAuthFlowError.stateInvalid }
        let issued = try await exchange(code: code, verifier: verifier, provider: provider)
        guard let refreshToken = issued.refreshToken else {
            throw OAuthFlowError(
                .exchangeFailed,
                "\(provider.name) did not issue a refresh token, so Posthorn could not stay connected. Remove Posthorn's access in your account's security settings and start again.")
        }
        let email = try await address(of: issued, provider: provider)
        let credential: SMTPCredential
        let created: Bool
        if let credentialID = pending.credentialID {
            credential = try await reconnect(credentialID, in: workspaceID, provider: provider, email: email, refreshToken: refreshToken)
            created = false
        } else {
            credential = try await create(
                named: pending.credentialName ?? provider.name, in: workspaceID, provider: provider, email: email, refreshToken: refreshToken)
            created = true
        }
        await tokens.store(issued.accessToken, lifetime: issued.expiresIn, for: credential.id, now: now())
        return (credential, created)
    }

    private func exchange(code: Secret, verifier: String, provider: OAuthProvider) async throws -> OAuthTokens {
        var form: [(name: String, value: String)] = [("grant_type", "authorization_code")]
        code.withRevealedValue { form.append(("code", $0)) }
        form += [("redirect_uri", redirectURI), ("code_verifier", verifier)]
        form += clientAuthentication(provider)
        switch try await requestTokens(form, provider: provider) {
        case .tokens(let tokens):
            return tokens
        case .refused(let error, let description):
            throw OAuthFlowError(.exchangeFailed, "\(provider.name) did not accept the sign-in: \(description ?? error). Start again.")
        }
    }

    /// The token endpoint's answer, parsed; transport and parse failures as ``OAuthFlowError``.
    private func requestTokens(_ form: [(name: String, value: String)], provider: OAuthProvider) async throws -> OAuthTokenResponse {
        do {
            let (status, body) = try await endpoint.post(form: form, to: provider.tokenURL)
            return try OAuthTokenResponse.parse(status: status, body: body)
        } catch let error as OAuthEndpointError {
            throw OAuthFlowError(.exchangeFailed, "\(provider.name) could not be reached: \(error.message). Start again.")
        } catch {
            throw OAuthFlowError(.exchangeFailed, "\(provider.name) answered in a way Posthorn cannot use (\(error)). Start again.")
        }
    }

    /// The account's address: the ID token's, else the userinfo endpoint's.
    private func address(of tokens: OAuthTokens, provider: OAuthProvider) async throws -> String {
        if let email = tokens.email { return email }
        if let url = provider.userinfoURL, let (status, body) = try? await endpoint.get(url, bearer: tokens.accessToken), status == 200,
            let email = OAuthTokenResponse.email(fromUserInfo: body) {
            return email
        }
        throw OAuthFlowError(
            .exchangeFailed, "\(provider.name) did not say which address you signed in with (the email scope is needed). Start again.")
    }

    /// `client_secret_post` (RFC 6749 §2.3.1): both built-in providers accept it.
    func clientAuthentication(_ provider: OAuthProvider) -> [(name: String, value: String)] {
        var form: [(name: String, value: String)] = [("client_id", provider.clientID ?? "")]
        provider.clientSecret?.withRevealedValue { form.append(("client_secret", $0)) }
        return form
    }

    private func create(
        named name: String, in workspaceID: String, provider: OAuthProvider, email: String, refreshToken: Secret
    ) async throws -> SMTPCredential {
        let timestamp = now()
        var credential = SMTPCredential(
            id: ids.makeID(prefix: "cred"), workspaceID: workspaceID, name: name, host: provider.smtpHost, port: provider.smtpPort,
            username: email, security: provider.security, acceptUnverifiedCertificates: false, minimumTLSVersion: .tls12,
            clientIdentifier: nil, caCertificate: provider.caCertificate, sealedPassword: nil, passwordFingerprint: nil,
            createdAt: timestamp, updatedAt: timestamp, oauth: OAuthLink(providerID: provider.id))
        try seal(refreshToken, into: &credential)
        do {
            try await credentials.insertCredential(credential)
        } catch StoreError.duplicate {
            throw WorkspaceError(.conflict, field: "name", "A credential with this name already exists in this workspace")
        }
        return credential
    }

    private func reconnect(
        _ id: String, in workspaceID: String, provider: OAuthProvider, email: String, refreshToken: Secret
    ) async throws -> SMTPCredential {
        for _ in 1...3 {
            guard var credential = try await credentials.credential(id: id, workspaceID: workspaceID), credential.oauth != nil else {
                throw OAuthFlowError(.exchangeFailed, "The credential was deleted during the sign-in; nothing was saved.")
            }
            credential.oauth = OAuthLink(providerID: provider.id)
            credential.username = email
            credential.host = provider.smtpHost
            credential.port = provider.smtpPort
            credential.security = provider.security
            credential.caCertificate = provider.caCertificate
            credential.acceptUnverifiedCertificates = false
            try seal(refreshToken, into: &credential)
            credential.updatedAt = now()
            credential.version += 1
            do {
                guard try await credentials.updateCredential(credential) else { continue }
                return credential
            } catch StoreError.versionConflict {
                continue
            }
        }
        throw OAuthFlowError(.exchangeFailed, "The credential kept changing during the sign-in; start again.")
    }

    func seal(_ refreshToken: Secret, into credential: inout SMTPCredential) throws {
        let context = credential.passwordContext
        do {
            credential.sealedPassword = try vault.seal(refreshToken, context: context)
        } catch {
            throw WorkspaceError(.vault, "The refresh token could not be sealed")
        }
        credential.passwordFingerprint = vault.fingerprint(of: refreshToken, context: context)
    }
}
