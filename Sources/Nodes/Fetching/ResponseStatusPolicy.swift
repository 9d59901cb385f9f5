import Flows

/// What the fetcher makes of a response status: only 2xx is a result.
///
/// - 3xx is `EREDIRECT`, permanent, and never followed: following would mean a second host (or a
///   second address of the same host) that the egress guard never vetted, which is how redirects
///   turn a harmless-looking public URL into a request to a metadata service. The spec asks for
///   `maxRedirects: 0`; the fix is to use the final URL.
/// - 408 (Request Timeout) and 429 (Too Many Requests) are transient: the server says it did not
///   process the request, so the same request may succeed later. Every other 4xx is permanent: the
///   request itself is wrong.
/// - 5xx depends on the method. For `GET` and `HEAD` it is transient: they change nothing, so
///   asking again is harmless. For `POST`, `PUT`, `PATCH` and `DELETE` it is `ambiguous`: a 500 or
///   a 502 from a proxy says nothing about whether the origin applied the request before failing
///   (an order placed, a row deleted), and a retry could apply it a second time.
/// - Anything else (a 1xx that reached us, a status above 599) is permanent.
enum ResponseStatusPolicy {
    /// `nil` for 2xx; otherwise the error for `field`. The message names the status, never the URL.
    static func refusal(status: Int, method: String, field: String, authority: String) -> NodeError? {
        let details: JSONValue = .object(["status": .integer(Int64(status))])
        switch status {
        case 200...299:
            return nil
        case 300...399:
            return NodeError(
                code: FetchErrorCode.redirect,
                message: "\(field): \(authority) answered \(status) (a redirect); redirects are never followed, so use the final URL",
                disposition: .permanent, details: details)
        case 408, 429:
            return NodeError(
                code: FetchErrorCode.httpStatus,
                message: "\(field): \(authority) answered \(status); only 2xx is accepted (try again later)",
                disposition: .transient, details: details)
        case 400...499:
            return NodeError(
                code: FetchErrorCode.httpStatus, message: "\(field): \(authority) answered \(status); only 2xx is accepted",
                disposition: .permanent, details: details)
        case 500...599 where FetchRequest.isSafeMethod(method):
            return NodeError(
                code: FetchErrorCode.httpStatus,
                message: "\(field): \(authority) answered \(status); only 2xx is accepted (a server error, retried)",
                disposition: .transient, details: details)
        case 500...599:
            return NodeError(
                code: FetchErrorCode.httpStatus,
                message: "\(field): \(authority) answered \(status) to \(method.uppercased()); the server may have applied the request before failing, so it is not retried",
                disposition: .ambiguous, details: details)
        default:
            return NodeError(
                code: FetchErrorCode.httpStatus, message: "\(field): \(authority) answered \(status); only 2xx is accepted",
                disposition: .permanent, details: details)
        }
    }
}
