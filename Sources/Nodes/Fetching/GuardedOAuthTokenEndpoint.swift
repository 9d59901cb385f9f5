public import Foundation
public import Secrets
public import Workspaces
import Flows

/// The token and userinfo endpoints of OAuth providers, reached like every other outbound
/// request: through the egress guard (an operator allowlist for a provider on a private address),
/// pinned to the vetted address, certificate checked, no redirect, a size cap and a timeout.
public struct GuardedOAuthTokenEndpoint: OAuthTokenEndpoint {
    private let fetcher: any ResourceFetcher
    private let timeout: Duration

    /// Token requests through `fetcher`, each within `timeout`.
    public init(fetcher: any ResourceFetcher, timeout: Duration = .seconds(15)) {
        self.fetcher = fetcher
        self.timeout = timeout
    }

    public func post(form: [(name: String, value: String)], to url: URL) async throws(OAuthEndpointError) -> (status: Int, body: [UInt8]) {
        var request = FetchRequest(
            method: "POST", url: url.absoluteString,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Array(Self.formEncoded(form).utf8), byteLimit: OAuthTokenResponse.maximumBodyBytes, timeout: timeout)
        // RFC 6749 §5.2: refusals are 400 (401 for a wrong client) with a JSON body naming the error.
        request.acceptedErrorStatuses = [400, 401]
        return try await perform(request)
    }

    public func get(_ url: URL, bearer token: Secret) async throws(OAuthEndpointError) -> (status: Int, body: [UInt8]) {
        let request = FetchRequest(
            url: url.absoluteString, headers: [("Authorization", "Bearer \(token.revealedValue)"), ("Accept", "application/json")],
            byteLimit: OAuthTokenResponse.maximumBodyBytes, timeout: timeout)
        return try await perform(request)
    }

    private func perform(_ request: FetchRequest) async throws(OAuthEndpointError) -> (status: Int, body: [UInt8]) {
        do {
            let resource = try await fetcher.fetch(request, field: "tokenURL")
            return (resource.status, resource.body)
        } catch {
            // The fetcher's messages name the host and the rule, never the path, query or body.
            throw OAuthEndpointError("\(error.code): \(error.message)")
        }
    }

    /// `application/x-www-form-urlencoded` (HTML's encoding: unreserved characters as they are,
    /// the rest percent-encoded, so a token's `+`, `/` and `=` survive).
    static func formEncoded(_ form: [(name: String, value: String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        func encode(_ text: String) -> String {
            text.unicodeScalars.map { scalar in
                scalar.isASCII && allowed.contains(scalar) ? String(scalar) : String(scalar).utf8.map { String(format: "%%%02X", $0) }.joined()
            }.joined()
        }
        return form.map { "\(encode($0.name))=\(encode($0.value))" }.joined(separator: "&")
    }
}
