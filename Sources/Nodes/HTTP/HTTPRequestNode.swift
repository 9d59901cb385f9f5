public import Flows

/// `http.request`: sends one HTTP request through a ``ResourceFetcher`` (in production the
/// ``GuardedHTTPFetcher``: egress-vetted and pinned, no redirects, 2xx only, a size cap, a timeout)
/// and returns the response as the step output, so a flow can fetch a file or JSON and hand it on.
///
/// The output is `{"status", "headers", "contentType", "filename", "size", "body"}`; `body` is the
/// parsed JSON value, a string, or ``JSONValue/bytes(_:)`` depending on `responseFormat`, so
/// `{{steps.fetch.output.body}}` hands a downloaded file to `smtp.send` as bytes, with no base64
/// round trip.
public struct HTTPRequestNode: Node {
    /// Operator bounds on what a step may ask for.
    public struct Limits: Sendable, Hashable {
        /// The largest `maxBytes` a step may set.
        public var maximumBytes: Int
        /// The longest `timeoutSeconds` a step may set.
        public var maximumTimeoutSeconds: Int

        /// 100 MB and 300 seconds by default.
        public init(maximumBytes: Int = 100_000_000, maximumTimeoutSeconds: Int = 300) {
            self.maximumBytes = maximumBytes
            self.maximumTimeoutSeconds = maximumTimeoutSeconds
        }
    }

    /// The response-body cap when `maxBytes` is not set: 25 MB, the same as the SMTP node's
    /// attachment total.
    public static let defaultMaxBytes = 25_000_000
    /// The timeout when `timeoutSeconds` is not set.
    public static let defaultTimeoutSeconds = 30

    private let fetcher: any ResourceFetcher
    private let limits: Limits

    /// Creates the node; `fetcher` performs every request.
    public init(fetcher: any ResourceFetcher, limits: Limits = Limits()) {
        self.fetcher = fetcher
        self.limits = limits
    }

    public var descriptor: NodeDescriptor { Self.nodeDescriptor }

    /// `GET` and `HEAD` (also the default when `method` is unset) change nothing, so a run resumed
    /// after a crash may send them again; any other method, or one that will not validate, is not
    /// idempotent and an interrupted step ends `ambiguous`.
    public func isIdempotent(_ parameters: JSONValue) -> Bool {
        guard case .object(let members) = parameters else { return false }
        switch members["method"] {
        case nil, .null?, .string("")?: return true
        case .string(let method)?: return FetchRequest.isSafeMethod(method)
        default: return false
        }
    }

    public func execute(_ context: NodeContext) async throws(NodeError) -> JSONValue {
        let parameters = try HTTPRequestParameters(context.parameters, limits: limits)
        let resource = try await fetcher.fetch(parameters.fetchRequest, field: "url")
        let body = try parameters.responseFormat.body(of: resource)
        return .object([
            "status": .integer(Int64(resource.status)),
            "headers": .object(resource.headers.mapValues(JSONValue.string)),
            "contentType": resource.contentType.map(JSONValue.string) ?? .null,
            "filename": resource.filename.map(JSONValue.string) ?? .null,
            "size": .integer(Int64(resource.body.count)),
            "body": body,
        ])
    }
}
