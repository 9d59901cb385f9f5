import AsyncHTTPClient
import Egress
import Flows
import Foundation
import NIOCore
import NIOSSL

/// The errors a fetch ends with, built in one place so codes, dispositions and wording stay
/// consistent. Messages name the field, the rule and `host:port`; never the path, the query or a
/// header value.
enum FetchFailure {
    /// The guard refused the host (`EPOLICY`, permanent) or could not resolve it (`EDNS`, transient).
    static func egress(_ error: EgressError, field: String) -> NodeError {
        if error.isPolicyRefusal {
            return NodeError(code: FetchErrorCode.policy, message: "\(field): \(error)", disposition: .permanent)
        }
        return NodeError(code: FetchErrorCode.dns, message: "\(field): \(error)", disposition: .transient)
    }

    /// The body is over the limit: declared by `Content-Length`, or found while streaming.
    static func tooLarge(field: String, limit: Int, declared: Int?) -> NodeError {
        let message = if let declared {
            "\(field): the response declares \(declared) bytes (Content-Length), more than the limit of \(limit) bytes"
        } else {
            "\(field): the response body is larger than the limit of \(limit) bytes; reading stopped there"
        }
        return NodeError(
            code: FetchErrorCode.tooLarge, message: message, disposition: .permanent,
            details: .object(["limit": .integer(Int64(limit))]))
    }

    /// The whole exchange did not finish in time.
    static func timedOut(field: String, target: FetchTarget, timeout: Duration, request: FetchRequest) -> NodeError {
        NodeError(
            code: FetchErrorCode.timedOut,
            message: "\(field): no complete response from \(target.authority) within \(describe(timeout))",
            disposition: afterSending(request))
    }

    /// An error from the HTTP client or the network under it.
    static func transport(_ error: any Error, field: String, target: FetchTarget, request: FetchRequest) -> NodeError {
        let details: JSONValue = .object(["error": .string(String(String(describing: error).prefix(300)))])
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .connectTimeout, .tlsHandshakeTimeout:
                return NodeError(
                    code: FetchErrorCode.timedOut, message: "\(field): could not connect to \(target.authority) in time",
                    disposition: .transient, details: details)
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return timedOut(field: field, target: target, timeout: request.timeout, request: request)
            default:
                break
            }
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return NodeError(
                code: FetchErrorCode.tls,
                message: "\(field): the TLS handshake with \(target.authority) failed (an untrusted or mismatched certificate, or TLS below 1.2)",
                disposition: .permanent, details: details)
        }
        if isRefusal(error) {
            return NodeError(
                code: FetchErrorCode.connection, message: "\(field): could not connect to \(target.authority)",
                disposition: .transient, details: details)
        }
        return NodeError(
            code: FetchErrorCode.connection, message: "\(field): the exchange with \(target.authority) failed",
            disposition: afterSending(request), details: details)
    }

    // MARK: - Helpers

    /// A failure once the request may have reached the server (a timeout, a reset connection):
    /// retrying a POST, PUT, PATCH or DELETE could repeat its effect, so those are `ambiguous`
    /// (never retried automatically); a GET or HEAD is transient.
    static func afterSending(_ request: FetchRequest) -> NodeError.Disposition {
        request.isSafeMethod ? .transient : .ambiguous
    }

    /// Whether the connection was refused before any byte went out. NIOPosix wraps the socket
    /// error in `NIOConnectionError`, which this target does not import, so its description is
    /// matched too.
    private static func isRefusal(_ error: any Error) -> Bool {
        if let ioError = error as? IOError {
            return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(ioError.errnoCode)
        }
        return String(describing: type(of: error)) == "NIOConnectionError"
    }

    /// `30 s`, `0.5 s`.
    static func describe(_ duration: Duration) -> String {
        let milliseconds = duration.wholeMilliseconds
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(Double(milliseconds) / 1000) s"
    }
}
