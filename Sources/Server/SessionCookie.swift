public import Foundation
import HTTPTypes
public import Hummingbird
import Secrets
import Workspaces

/// The browser side of signing in: the session cookie and the same-origin rule that defends every
/// cookie-authenticated change against cross-site requests.
public struct BrowserPolicy: Sendable {
    /// The cookie's name.
    static let cookieName = "posthorn_session"

    /// The origin (`https://posthorn.example.com`) the server is reached at when it sits behind a
    /// proxy (`--public-url`); `nil` takes the request's `Host`.
    public let publicOrigin: String?
    /// Whether the cookie is marked `Secure`: when the public URL is https.
    public let secureCookie: Bool
    /// How long a cookie is kept by the browser (the session's absolute limit).
    public let cookieLifetime: Duration

    /// Whether the client's address is the last `X-Forwarded-For` entry (set by the operator when
    /// a proxy they run adds it), rather than the connection's peer.
    public let trustsForwardedFor: Bool

    /// A policy for a server reached at `publicURL` (or at whatever `Host` says).
    public init(publicURL: URL?, cookieLifetime: Duration, trustsForwardedFor: Bool = false) {
        self.trustsForwardedFor = trustsForwardedFor
        if let publicURL, let scheme = publicURL.scheme?.lowercased(), let host = publicURL.host?.lowercased() {
            // Written as browsers write `Origin` (RFC 6454 §6.1): the scheme's default port left
            // out, an IPv6 address in brackets. Otherwise every change would be refused.
            let defaultPort = scheme == "https" ? 443 : 80
            let port = publicURL.port.flatMap { $0 == defaultPort ? nil : ":\($0)" } ?? ""
            let authority = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            publicOrigin = "\(scheme)://\(authority)\(port)"
            secureCookie = scheme == "https"
        } else {
            publicOrigin = nil
            secureCookie = false
        }
        self.cookieLifetime = cookieLifetime
    }

    /// The address sign-in throttling counts by: the connection's peer or, behind a proxy the
    /// operator trusts, the address that proxy saw (the last `X-Forwarded-For` entry: the one
    /// the client cannot forge).
    func clientAddress(_ request: Request, context: PosthornRequestContext) -> String {
        guard trustsForwardedFor, let header = request.headers[values: .xForwardedFor].last,
            let last = header.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty, last.utf8.count <= 64
        else { return context.remoteAddress }
        return last
    }

    /// `path` as a link to give a person: absolute under the public URL when there is one.
    func absolute(_ path: String) -> String {
        (publicOrigin ?? "") + path
    }

    /// The session id the request's cookie carries.
    func sessionID(of request: Request) -> Secret? {
        guard let value = request.cookies[Self.cookieName]?.value, !value.isEmpty, value.utf8.count <= 128 else { return nil }
        return Secret(value)
    }

    /// The cookie that signs a browser in.
    func cookie(for session: Secret) -> Cookie {
        Cookie(
            name: Self.cookieName, value: session.revealedValue, maxAge: Int(cookieLifetime.components.seconds), path: "/",
            secure: secureCookie, httpOnly: true, sameSite: .strict)
    }

    /// The cookie that signs a browser out (expired at once).
    var clearingCookie: Cookie {
        Cookie(name: Self.cookieName, value: "", maxAge: 0, path: "/", secure: secureCookie, httpOnly: true, sameSite: .strict)
    }

    /// Whether `request` may change something with a browser's cookie: it names its origin, and
    /// that origin is this server's. Browsers send `Origin` with every `fetch` that is not a GET;
    /// a form or script on another site carries that site's origin and is refused.
    ///
    /// Without `--public-url`, the request's `Host` stands for the server, under either scheme (a
    /// TLS proxy in front changes it; a site that can make the browser send our `Host` with its own
    /// origin would have to be us).
    func isSameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin]?.lowercased(), origin != "null" else { return false }
        if let publicOrigin { return origin == publicOrigin }
        guard let host = request.head.authority?.lowercased() else { return false }
        return origin == "http://" + host || origin == "https://" + host
    }

    /// Refuses a request whose `Origin` is another site's. `required`: also one without `Origin`
    /// (every cookie-authenticated change); otherwise a missing `Origin` passes (curl signing in).
    func checkOrigin(_ request: Request, required: Bool) throws {
        if request.headers[.origin] == nil && !required { return }
        guard isSameOrigin(request) else {
            throw APIError(.forbidden, code: "csrf_refused", "This request did not come from Posthorn's own pages (Origin check failed)")
        }
    }

    /// Whether the method changes state (everything but GET, HEAD and OPTIONS).
    static func changesState(_ method: HTTPRequest.Method) -> Bool {
        !(method == .get || method == .head || method == .options)
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
