public import Foundation
public import Secrets

/// How Posthorn talks to a provider's token and userinfo endpoints: AsyncHTTPClient behind the
/// egress guard in production (`Nodes`), an in-process fake in unit tests.
public protocol OAuthTokenEndpoint: Sendable {
    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url`; the status and at most
    /// ``OAuthTokenResponse/maximumBodyBytes`` of body, whatever the status (a refusal is a 400
    /// whose body says why).
    func post(form: [(name: String, value: String)], to url: URL) async throws(OAuthEndpointError) -> (status: Int, body: [UInt8])
    /// GETs `url` with `Authorization: Bearer <token>` (the userinfo endpoint).
    func get(_ url: URL, bearer token: Secret) async throws(OAuthEndpointError) -> (status: Int, body: [UInt8])
}

/// The endpoint could not be reached or answered too much; safe to show (no token, no query).
public struct OAuthEndpointError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
