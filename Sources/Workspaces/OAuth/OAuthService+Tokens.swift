public import Foundation
public import Secrets
import Vault

/// Why an OAuth credential has no access token for a send or a test. Safe to show.
public enum OAuthTokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The provider refused the refresh token (`invalid_grant`: revoked, expired, password
    /// changed): a person must sign in again. Nothing retries it.
    case needsReconnect(providerName: String)
    /// The provider could not be reached or answered nonsense: worth trying again later.
    case unavailable(String)
    /// The provider refused for another reason (a wrong client secret, a provider no longer
    /// configured): an operator must act.
    case refused(String)

    /// The hint shown with ``needsReconnect(providerName:)``: in the failed step, the test result
    /// and on the tile.
    public static let reconnectHint = "Reconnect this credential"

    /// The hint when the SMTP server refuses a fresh access token (the App Password advice of a
    /// password credential's EAUTH does not apply).
    public static let tokenRefusedHint =
        "The provider's SMTP server refused the access token. Check that the mailbox may send over SMTP (Microsoft 365: SMTP AUTH enabled for it), or reconnect this credential."

    public var description: String {
        switch self {
        case .needsReconnect(let provider):
            "\(provider) no longer accepts this credential's sign-in (revoked or expired). \(Self.reconnectHint)."
        case .unavailable(let reason): "The access token could not be renewed: \(reason)"
        case .refused(let reason): "The access token could not be renewed: \(reason)"
        }
    }
}

extension OAuthService {
    /// The current access token of an OAuth credential: the one in memory while more than
    /// min(60 s, a tenth of its lifetime) of it remains, else a new one from the provider.
    ///
    /// However many sends ask at once, one request refreshes (single flight per credential; across
    /// instances on PostgreSQL the credential's row is locked meanwhile, so a rotated refresh token
    /// is never used twice). A rotated refresh token is sealed at once. A refusal with
    /// `invalid_grant` marks the credential ``OAuthLink/needsReconnect`` and fails every waiting
    /// send; later sends fail at once without asking the provider again.
    public func accessToken(for credential: SMTPCredential) async throws(OAuthTokenError) -> Secret {
        guard let link = credential.oauth else { throw .refused("the credential does not sign in with OAuth") }
        if link.needsReconnect { throw .needsReconnect(providerName: providers[link.providerID]?.name ?? link.providerID) }
        switch await tokens.join(credential.id, now: now()) {
        case .token(let token):
            return token
        case .waited(let result):
            return try result.get()
        case .lead:
            let result = await refresh(credential)
            await tokens.finish(credential.id, with: result, now: now())
            return try result.get().token
        }
    }

    /// Forgets `token` if it is still the credential's current one: the SMTP server refused it
    /// (the XOAUTH2 error challenge), so the next ``accessToken(for:)`` refreshes.
    public func invalidate(_ token: Secret, of credentialID: String) async {
        await tokens.invalidate(token, of: credentialID)
    }

    /// Forgets the credential's access token (deleted, or connected again).
    public func forgetToken(of credentialID: String) async {
        await tokens.forget(credentialID)
    }

    /// One refresh with the stored refresh token, under the credential's lock.
    private func refresh(_ credential: SMTPCredential) async -> Result<TokenCache.Issued, OAuthTokenError> {
        let vault = vault
        let now = now
        let providerID = credential.oauth?.providerID ?? ""
        let resolved = await provider(providerID)
        let outcome: Result<TokenCache.Issued, OAuthTokenError>?
        do {
            outcome = try await credentials.withCredentialLocked(id: credential.id, workspaceID: credential.workspaceID) { stored in
                guard let link = stored.oauth, let sealed = stored.sealedPassword else {
                    return (nil, .failure(.refused("the credential no longer signs in with OAuth")))
                }
                guard let provider = resolved, provider.id == link.providerID, provider.isConfigured else {
                    return (nil, .failure(.refused("\(link.providerID) sign-in is no longer configured on this server")))
                }
                guard !link.needsReconnect else { return (nil, .failure(.needsReconnect(providerName: provider.name))) }
                let refreshToken: Secret
                do {
                    refreshToken = try vault.open(sealed, context: stored.passwordContext)
                } catch {
                    return (nil, .failure(.refused("the stored refresh token could not be opened with the current keys")))
                }
                var form: [(name: String, value: String)] = [("grant_type", "refresh_token")]
                refreshToken.withRevealedValue { form.append(("refresh_token", $0)) }
                form += self.clientAuthentication(provider)
                let answer: OAuthTokenResponse
                do {
                    let (status, body) = try await self.endpoint.post(form: form, to: provider.tokenURL)
                    answer = try OAuthTokenResponse.parse(status: status, body: body)
                } catch let error as OAuthEndpointError {
                    return (nil, .failure(.unavailable("\(provider.name) could not be reached: \(error.message)")))
                } catch {
                    return (nil, .failure(.unavailable("\(provider.name) answered in a way Posthorn cannot use (\(error))")))
                }
                switch answer {
                case .tokens(let issued):
                    var changed: SMTPCredential?
                    if let rotated = issued.refreshToken, rotated.revealedValue != refreshToken.revealedValue {
                        var credential = stored
                        try self.seal(rotated, into: &credential)
                        credential.updatedAt = now()
                        credential.version += 1
                        changed = credential
                    }
                    return (changed, .success(TokenCache.Issued(token: issued.accessToken, lifetime: issued.expiresIn)))
                case .refused(let error, _) where error == "invalid_grant":
                    var credential = stored
                    credential.oauth?.needsReconnect = true
                    credential.updatedAt = now()
                    credential.version += 1
                    return (credential, .failure(.needsReconnect(providerName: provider.name)))
                case .refused(let error, let description):
                    return (nil, .failure(.refused("\(provider.name) refused: \(description ?? error)")))
                }
            }
        } catch {
            onRefresh("failed")
            return .failure(.unavailable("the credential could not be read or updated"))
        }
        guard let outcome else {
            onRefresh("failed")
            return .failure(.refused("the credential was deleted"))
        }
        switch outcome {
        case .success: onRefresh("ok")
        case .failure(.needsReconnect): onRefresh("refused")
        case .failure: onRefresh("failed")
        }
        return outcome
    }
}

/// Access tokens in memory, and the refreshes under way: one per credential, the others wait for it.
actor TokenCache {
    struct Issued: Sendable {
        var token: Secret
        var lifetime: Duration
    }

    private struct Entry {
        var token: Secret
        var expiresAt: Date
        var renewAt: Date
    }

    enum Turn {
        case token(Secret)
        case waited(Result<Secret, OAuthTokenError>)
        case lead
    }

    private var entries: [String: Entry] = [:]
    private var waiters: [String: [CheckedContinuation<Result<Secret, OAuthTokenError>, Never>]] = [:]

    /// The current token, or a wait for the refresh under way, or the turn to refresh.
    func join(_ id: String, now: Date) async -> Turn {
        if let entry = entries[id], entry.renewAt > now { return .token(entry.token) }
        guard waiters[id] != nil else {
            waiters[id] = []
            return .lead
        }
        return .waited(await withCheckedContinuation { waiters[id, default: []].append($0) })
    }

    /// Ends the refresh of `id`: keeps a new token and hands the result to every waiting send.
    func finish(_ id: String, with result: Result<Issued, OAuthTokenError>, now: Date) {
        switch result {
        case .success(let issued): store(issued.token, lifetime: issued.lifetime, for: id, now: now)
        case .failure: entries[id] = nil
        }
        for waiter in waiters.removeValue(forKey: id) ?? [] {
            waiter.resume(returning: result.map(\.token))
        }
    }

    func store(_ token: Secret, lifetime: Duration, for id: String, now: Date) {
        let seconds = Double(lifetime.components.seconds)
        entries[id] = Entry(
            token: token, expiresAt: now.addingTimeInterval(seconds), renewAt: now.addingTimeInterval(seconds - min(60, seconds / 10)))
    }

    func invalidate(_ token: Secret, of id: String) {
        if entries[id]?.token.revealedValue == token.revealedValue { entries[id] = nil }
    }

    func forget(_ id: String) {
        entries[id] = nil
    }
}
