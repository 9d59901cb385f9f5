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
        case .conflict, .versionConflict: .conflict
        case .vault: .internalServerError
        }
        self.init(status, code: error.kind.rawValue, field: error.field, error.message)
    }

    static let unauthorized = APIError(.unauthorized, code: "unauthorized", "Missing or invalid API token")

    private struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var field: String?
            var message: String
            var requestId: String?
        }
        var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let requestID = RequestIdentity.id(of: context.logger)
        var response = try context.responseEncoder.encode(
            Body(error: .init(code: code, field: field, message: message, requestId: requestID)), from: request, context: context)
        response.status = status
        if let requestID { response.headers[.requestID] = requestID }
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
