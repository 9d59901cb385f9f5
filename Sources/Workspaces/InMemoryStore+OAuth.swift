public import Foundation

extension InMemoryStore: OAuthAuthorizationStore {
    public func insertAuthorization(_ authorization: PendingOAuthAuthorization) {
        oauthAuthorizations[authorization.stateHash] = authorization
    }

    public func takeAuthorization(stateHash: String) -> PendingOAuthAuthorization? {
        oauthAuthorizations.removeValue(forKey: stateHash)
    }

    public func forgetAuthorizations(before cutoff: Date) -> Int {
        let expired = oauthAuthorizations.filter { $0.value.expiresAt < cutoff }.keys
        for key in expired { oauthAuthorizations[key] = nil }
        return expired.count
    }
}
