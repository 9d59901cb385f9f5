/// The codes a ``ResourceFetcher`` fails with. They land in step records, the API and the CLI, so
/// each keeps its meaning for good; the disposition that goes with each is documented here.
public enum FetchErrorCode {
    /// The URL is not an absolute `http:` or `https:` URL with a host and without user info.
    /// Permanent.
    public static let invalidURL = "EURL"
    /// The method or a request header cannot be sent (an unknown method, a header with a line
    /// break, a framing header such as `Host`). Permanent.
    public static let invalidRequest = "EREQUEST"
    /// The egress policy refused the host: it is, or resolved to, a private or reserved address that
    /// no allowlist opens, or it is a non-canonical address literal. Permanent.
    public static let policy = "EPOLICY"
    /// The host name did not resolve. Transient: resolvers fail for a while and recover.
    public static let dns = "EDNS"
    /// The server answered with a redirect, which is never followed. Permanent.
    public static let redirect = "EREDIRECT"
    /// The server answered outside 2xx and 3xx. Transient for 408 and 429, and for 5xx to a GET or
    /// HEAD; ambiguous for 5xx to a POST, PUT, PATCH or DELETE; permanent otherwise.
    public static let httpStatus = "EHTTP"
    /// The response body is, or says it is, larger than the limit. Permanent.
    public static let tooLarge = "ETOOLARGE"
    /// No complete response within the timeout. Transient (ambiguous for POST, PUT, PATCH and DELETE).
    public static let timedOut = "ETIMEDOUT"
    /// The connection failed or broke. Transient (ambiguous for POST, PUT, PATCH and DELETE once
    /// connected).
    public static let connection = "ECONNECTION"
    /// The TLS handshake failed: an untrusted or mismatched certificate, or a server below TLS 1.2.
    /// Permanent.
    public static let tls = "ETLS"
    /// A URL attachment answered 204 or 205, or with an empty body: there is nothing to attach.
    /// Permanent.
    public static let empty = "EEMPTY"
}
