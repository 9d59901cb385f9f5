public import HTTPTypes
public import Hummingbird
import Logging
import Workspaces

/// An API error: `{"error": {"code", "field", "message"}}` with a fitting status. Messages name the
/// field and the rule and never carry a secret.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var field: String?
    public var message: String
    /// Seconds until a retry may succeed, sent as `Retry-After` (429).
    public var retryAfter: Int?
    /// For `flow_has_problems`: every problem (the error's own field and message are the first).
    public var problems: [Problem]?

    /// One thing a flow still lacks.
    public struct Problem: Encodable, Sendable, Hashable {
        public var field: String
        public var message: String

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    /// Creates an error.
    public init(_ status: HTTPResponse.Status, code: String, field: String? = nil, _ message: String) {
        self.status = status
        self.code = code
        self.field = field
        self.message = message
    }

    /// The status and code for a service error.
    init(_ error: WorkspaceError) {
        let status: HTTPResponse.Status = switch error.kind {
        case .validation: .unprocessableContent
        case .notFound: .notFound
        case .conflict, .versionConflict, .lastAdmin: .conflict
        case .vault: .internalServerError
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .tooManyAttempts: .tooManyRequests
        }
        self.init(status, code: error.kind.rawValue, field: error.field, error.message)
        retryAfter = error.retryAfter.map { Int($0.rounded(.up)) }
    }

    /// A sign-in with a provider that did not complete: 400, or 502 when the provider failed.
    init(_ error: OAuthFlowError) {
        self.init(error.kind == .exchangeFailed ? .badGateway : .badRequest, code: error.kind.rawValue, error.message)
    }

    static let unauthorized = APIError(.unauthorized, code: "unauthorized", "Missing or invalid API token")

    private struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var field: String?
            var message: String
            var requestId: String?
            var problems: [Problem]?
        }
        var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let requestID = RequestIdentity.id(of: context.logger)
        var response = try context.responseEncoder.encode(
            Body(error: .init(code: code, field: field, message: message, requestId: requestID, problems: problems)),
            from: request, context: context)
        response.status = status
        if let requestID { response.headers[.requestID] = requestID }
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        // Thrown errors skip what RequestLogMiddleware adds to answers: an error is per caller
        // too (a 404 is heuristically cacheable), and JSON is never to be sniffed as HTML.
        response.headers[.cacheControl] = "no-store"
        response.headers[.xContentTypeOptions] = "nosniff"
        // The bearer challenge belongs to the API's token check, not to a webhook's secret.
        if code == APIError.unauthorized.code { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }
}

/// The id Hummingbird gives each request (`hb.request.id` in its logger's metadata): in every log
/// line of the request, in the `X-Request-Id` header of every answer, and in every error body, so
/// a user's report ("it said request 9f3c…") finds the server's log lines.
enum RequestIdentity {
    static func id(of logger: Logger) -> String? {
        logger[metadataKey: "hb.request.id"].map { "\($0)" }
    }
}

extension HTTPField.Name {
    /// The request's id, on every answer.
    static let requestID = HTTPField.Name("X-Request-Id")!
}


