public import Flows

/// Fetches a URL for a node: an attachment for `smtp.send`, or the response of `http.request`.
/// The network implementation (``GuardedHTTPFetcher``) goes only where the egress policy allows,
/// pinned to the address it vetted, follows no redirect, accepts only 2xx and stops at a size cap;
/// tests use a fake.
public protocol ResourceFetcher: Sendable {
    /// Performs `request`; every refusal is a ``NodeError`` whose message names `field`.
    func fetch(_ request: FetchRequest, field: String) async throws(NodeError) -> FetchedResource
}

/// What to fetch.
public struct FetchRequest: Sendable, Hashable {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`.
    public var method: String
    /// `http:` or `https:` only.
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// The most response-body bytes accepted; more is an error (`ETOOLARGE`), found while streaming.
    public var byteLimit: Int
    public var timeout: Duration
    /// Statuses outside 2xx whose body is read and returned rather than refused: a token
    /// endpoint's 400 and 401 say why in their body.
    public var acceptedErrorStatuses: Set<Int> = []

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
        byteLimit: Int, timeout: Duration = .seconds(30)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.byteLimit = byteLimit
        self.timeout = timeout
    }

    public static func == (lhs: FetchRequest, rhs: FetchRequest) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body && lhs.byteLimit == rhs.byteLimit
            && lhs.timeout == rhs.timeout && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(method)
        hasher.combine(url)
    }
}

/// A 2xx response.
public struct FetchedResource: Sendable, Hashable {
    public var status: Int
    /// Lower-cased names; repeated headers joined with `, `.
    public var headers: [String: String]
    public var body: [UInt8]
    /// The `Content-Type` without parameters, lower-cased, if any.
    public var contentType: String?
    /// From `Content-Disposition` (`filename*` preferred), else the last path segment of the URL.
    public var filename: String?

    public init(status: Int, headers: [String: String], body: [UInt8], contentType: String?, filename: String?) {
        self.status = status
        self.headers = headers
        self.body = body
        self.contentType = contentType
        self.filename = filename
    }
}
