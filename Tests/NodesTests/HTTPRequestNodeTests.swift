import Flows
import Logging
@testable import Nodes
import Synchronization
import Testing

/// A fetcher that records requests and answers with a fixed resource or error.
final class RecordingFetcher: ResourceFetcher {
    private let answer: Result<FetchedResource, NodeError>
    private let recorded = Mutex<[(request: FetchRequest, field: String)]>([])

    init(_ answer: Result<FetchedResource, NodeError>) {
        self.answer = answer
    }

    convenience init(contentType: String?, body: [UInt8], headers: [String: String] = [:], filename: String? = nil) {
        var headers = headers
        if let contentType, headers["content-type"] == nil { headers["content-type"] = contentType }
        self.init(.success(FetchedResource(
            status: 200, headers: headers, body: body,
            contentType: contentType.flatMap(FetchedResource.mediaType), filename: filename)))
    }

    var requests: [FetchRequest] { recorded.withLock { $0.map(\.request) } }
    var fields: [String] { recorded.withLock { $0.map(\.field) } }

    func fetch(_ request: FetchRequest, field: String) async throws(NodeError) -> FetchedResource {
        recorded.withLock { $0.append((request, field)) }
        return try answer.get()
    }
}

@Suite("http.request node")
struct HTTPRequestNodeTests {
    static func run(_ node: HTTPRequestNode, _ parameters: JSONValue) async throws(NodeError) -> JSONValue {
        try await node.execute(NodeContext(
            parameters: parameters, stepOutputs: [:], workspaceID: "ws_1", flowID: "flow_1", runID: "run_1",
            stepID: "fetch", attempt: 1, logger: Logger(label: "test.http-request")))
    }

    static func output(_ fetcher: RecordingFetcher, _ parameters: JSONValue) async throws -> [String: JSONValue] {
        try await members(HTTPRequestNode(fetcher: fetcher), parameters)
    }

    /// The node's output as an object's members.
    static func members(_ node: HTTPRequestNode, _ parameters: JSONValue) async throws -> [String: JSONValue] {
        let output = try await run(node, parameters)
        guard case .object(let members) = output else {
            Issue.record("output is not an object")
            return [:]
        }
        return members
    }

    // MARK: - Descriptor

    @Test("the descriptor: type, label, parameters, defaults; not idempotent")
    func descriptor() {
        let descriptor = HTTPRequestNode(fetcher: RecordingFetcher(contentType: nil, body: [])).descriptor
        #expect(descriptor.type == "http.request")
        #expect(descriptor.label == "HTTP Request")
        #expect(descriptor.parameters.map(\.name) == ["method", "url", "headers", "body", "responseFormat", "maxBytes", "timeoutSeconds"])
        let byName = Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0) })
        #expect(byName["method"]?.options == ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
        #expect(byName["method"]?.defaultValue == "GET")
        #expect(byName["url"]?.required == true)
        #expect(byName["headers"]?.kind == .json)
        #expect(byName["body"]?.kind == .text)
        #expect(byName["responseFormat"]?.options == ["auto", "json", "text", "binary"])
        #expect(byName["maxBytes"]?.defaultValue == 25_000_000)
        #expect(byName["timeoutSeconds"]?.defaultValue == 30)
        #expect(descriptor.isIdempotent == false)
        #expect(descriptor.defaultOnError == .stop)
        #expect(descriptor.acceptsOtherParameters == false)
    }

    // MARK: - Idempotency

    static let idempotencyCases: [(method: JSONValue?, idempotent: Bool)] = [
        (nil, true), ("GET", true), ("get", true), ("HEAD", true), ("", true), (.null, true),
        ("POST", false), ("PUT", false), ("patch", false), ("DELETE", false), ("TRACE", false), (1, false),
    ]

    @Test("idempotent per step: GET and HEAD (and no method) may be re-run, a write may not", arguments: idempotencyCases)
    func idempotency(method: JSONValue?, idempotent: Bool) {
        var parameters: [String: JSONValue] = ["url": "https://x.example.com/"]
        parameters["method"] = method
        let node = HTTPRequestNode(fetcher: RecordingFetcher(contentType: nil, body: []))
        #expect(node.isIdempotent(.object(parameters)) == idempotent)
        #expect(node.isIdempotent(.array([])) == false)
    }


    // MARK: - History

    static func history(_ parameters: JSONValue, _ output: JSONValue? = nil) -> (parameters: JSONValue, output: JSONValue?) {
        HTTPRequestNode(fetcher: RecordingFetcher(contentType: nil, body: [])).forHistory(parameters: parameters, output: output)
    }

    static let redactionCases: [(headers: JSONValue, kept: JSONValue)] = [
        (.object([
            "Authorization": "Bearer abc", "proxy-authorization": "Basic x", "Cookie": "sid=1", "X-API-Key": "k",
            "X-Auth-Token": "t", "X-Vault-TOKEN": "v", "X-Client-Secret": "s", "Accept": "application/json",
            "WWW-Authenticate": "Bearer",
        ]),
         .object([
            "Authorization": "<redacted>", "proxy-authorization": "<redacted>", "Cookie": "<redacted>",
            "X-API-Key": "<redacted>", "X-Auth-Token": "<redacted>", "X-Vault-TOKEN": "<redacted>",
            "X-Client-Secret": "<redacted>", "Accept": "application/json", "WWW-Authenticate": "Bearer",
         ])),
        (.array([["name": "authorization", "value": "Bearer abc"], ["name": "X-Request-Id", "value": "r1"]]),
         .array([["name": "authorization", "value": "<redacted>"], ["name": "X-Request-Id", "value": "r1"]])),
        (.string(#"{"Authorization": "Bearer abc", "Accept": "text/csv"}"#),
         .string(#"{"Accept":"text/csv","Authorization":"<redacted>"}"#)),
        (.string("Authorization: Bearer abc"), .string("<redacted>")),
    ]

    @Test("sensitive request header values are redacted in every shape the parameter takes", arguments: redactionCases)
    func historyRedactsRequestHeaders(headers: JSONValue, kept: JSONValue) {
        let parameters: JSONValue = ["method": "POST", "url": "https://api.example.com/x", "headers": headers, "body": "hello"]
        let history = Self.history(parameters)
        #expect(history.parameters == ["method": "POST", "url": "https://api.example.com/x", "headers": kept, "body": "hello"])
        #expect(!"\(history.parameters)".contains("abc"))
    }

    @Test("sensitive response header values are redacted in the output; the rest is kept")
    func historyRedactsResponseHeaders() async throws {
        let fetcher = RecordingFetcher(
            contentType: "application/json", body: Array(#"{"ok":true}"#.utf8),
            headers: ["set-cookie": "sid=secret-session", "www-authenticate": "Bearer realm=x", "x-request-id": "r1"])
        let parameters: JSONValue = ["url": "https://api.example.com/x"]
        let node = HTTPRequestNode(fetcher: fetcher)
        let output = try await Self.run(node, parameters)
        let history = node.forHistory(parameters: parameters, output: output)
        #expect(history.parameters == parameters)
        guard case .object(var expected) = output else {
            Issue.record("output is not an object")
            return
        }
        expected["headers"] = [
            "content-type": "application/json", "set-cookie": "<redacted>", "www-authenticate": "Bearer realm=x",
            "x-request-id": "r1",
        ]
        #expect(history.output == .object(expected))
        #expect(Self.history(parameters, nil).output == nil)
    }

    // MARK: - Request

    @Test("defaults: GET, no headers, no body, 25 MB, 30 s; errors name the url field")
    func defaults() async throws {
        let fetcher = RecordingFetcher(contentType: nil, body: [])
        _ = try await Self.output(fetcher, ["url": "https://files.example.com/a.pdf"])
        let request = try #require(fetcher.requests.first)
        #expect(request.method == "GET")
        #expect(request.url == "https://files.example.com/a.pdf")
        #expect(request.headers.isEmpty)
        #expect(request.body == nil)
        #expect(request.byteLimit == 25_000_000)
        #expect(request.timeout == .seconds(30))
        #expect(fetcher.fields == ["url"])
    }

    @Test("a JSON object body is sent as compact JSON with Content-Type application/json")
    func jsonBody() async throws {
        let fetcher = RecordingFetcher(contentType: nil, body: [])
        _ = try await Self.output(
            fetcher, ["method": "post", "url": "https://api.example.com/orders", "body": ["sku": "A1", "qty": 2]])
        let request = try #require(fetcher.requests.first)
        #expect(request.method == "POST")
        #expect(request.body == Array(#"{"qty":2,"sku":"A1"}"#.utf8))
        #expect(request.headers.map(\.name) == ["Content-Type"])
        #expect(request.headers.map(\.value) == ["application/json"])
    }

    @Test(
        "the Content-Type added for each kind of body, unless the headers set one",
        arguments: [
            (JSONValue.string(#"{"a": 1}"#), #"{"a": 1}"#, "application/json"),
            (.string("[1, 2]"), "[1, 2]", "application/json"),
            (.string("hello"), "hello", "text/plain; charset=utf-8"),
            (.integer(42), "42", "text/plain; charset=utf-8"),
            (.array(["a"]), #"["a"]"#, "application/json"),
            (.bytes([0xFF, 0x00]), "\u{FFFD}\u{0}", "application/octet-stream"),
        ])
    func bodyKinds(body: JSONValue, sent: String, contentType: String) async throws {
        let fetcher = RecordingFetcher(contentType: nil, body: [])
        _ = try await Self.output(fetcher, ["method": "PUT", "url": "https://api.example.com/x", "body": body])
        let request = try #require(fetcher.requests.first)
        #expect(String(decoding: request.body ?? [], as: UTF8.self) == sent)
        #expect(request.headers.first { $0.name == "Content-Type" }?.value == contentType)

        let explicit = RecordingFetcher(contentType: nil, body: [])
        _ = try await Self.output(
            explicit,
            ["method": "PUT", "url": "https://api.example.com/x", "body": body, "headers": ["content-type": "application/x-custom"]])
        let explicitRequest = try #require(explicit.requests.first)
        #expect(explicitRequest.headers.map(\.value) == ["application/x-custom"])
    }

    @Test(
        "headers as a list, an object (sorted) or JSON text",
        arguments: [
            (JSONValue.array([["name": "X-B", "value": "2"], ["name": "X-A", "value": 1]]), ["X-B: 2", "X-A: 1"]),
            (.object(["X-B": "2", "X-A": true]), ["X-A: true", "X-B: 2"]),
            (.string(#"{"Authorization": "Bearer abc"}"#), ["Authorization: Bearer abc"]),
            (.array([]), []),
        ])
    func headerShapes(headers: JSONValue, expected: [String]) async throws {
        let fetcher = RecordingFetcher(contentType: nil, body: [])
        _ = try await Self.output(fetcher, ["url": "https://api.example.com/x", "headers": headers])
        let request = try #require(fetcher.requests.first)
        #expect(request.headers.map { "\($0.name): \($0.value)" } == expected)
    }

    @Test("numbers may arrive as text from a template")
    func numbersAsText() async throws {
        let fetcher = RecordingFetcher(contentType: nil, body: [])
        _ = try await Self.output(fetcher, ["url": "https://x.example.com/", "maxBytes": "1000", "timeoutSeconds": "2.5"])
        let request = try #require(fetcher.requests.first)
        #expect(request.byteLimit == 1000)
        #expect(request.timeout == .milliseconds(2500))
    }

    // MARK: - Parameter validation

    /// `url` plus `extra` (which may replace it).
    static func withURL(_ extra: [String: JSONValue]) -> JSONValue {
        .object(extra.merging(["url": "https://x.example.com/"]) { given, _ in given })
    }

    static let headerShapeRule = #"headers: must be a list of {"name": …, "value": …} or an object of names to values"#
    static let maxBytesRule = "maxBytes: must be a whole number of bytes from 1 to 100000000"
    static let timeoutRule = "timeoutSeconds: must be a number of seconds greater than 0 and at most 300"
    static let methodRule = "method: must be one of GET, POST, PUT, PATCH, DELETE or HEAD"

    static let invalidCases: [(parameters: JSONValue, message: String)] = [
        (.object([:]), "url: is required"),
        (withURL(["url": ""]), "url: is required"),
        (withURL(["url": 5]), "url: must be text"),
        (withURL(["method": "TRACE"]), methodRule),
        (withURL(["method": 1]), methodRule),
        (withURL(["responseFormat": "xml"]), "responseFormat: must be one of auto, json, text or binary"),
        (withURL(["maxBytes": 0]), maxBytesRule),
        (withURL(["maxBytes": -5]), maxBytesRule),
        (withURL(["maxBytes": 1.5]), maxBytesRule),
        (withURL(["maxBytes": "lots"]), maxBytesRule),
        (withURL(["maxBytes": 100_000_001]), maxBytesRule),
        (withURL(["timeoutSeconds": 0]), timeoutRule),
        (withURL(["timeoutSeconds": 301]), timeoutRule),
        (withURL(["headers": 5]), headerShapeRule),
        (withURL(["headers": "not json"]), headerShapeRule),
        (withURL(["headers": .array([.object(["value": "x"])])]), #"headers[0]: needs a "name" and a "value""#),
        (withURL(["headers": .object(["Bad Name": "x"])]), "headers.Bad Name: is not a valid HTTP header name"),
        (withURL(["headers": .object(["Host": "internal.example"])]),
         "headers.Host: Host is set by the HTTP client and cannot be set here"),
        (withURL(["headers": .array([.object(["name": "Content-Length", "value": "1"])])]),
         "headers[0]: Content-Length is set by the HTTP client and cannot be set here"),
        (withURL(["headers": .object(["X-A": "a\r\nX-Injected: 1"])]),
         "headers.X-A: the value must not contain line breaks or control characters"),
        (withURL(["headers": .object(["X-A": .object(["nested": 1])])]), "headers.X-A: the value must be text"),
        (withURL(["method": "HEAD", "body": "x"]), "body: a HEAD request cannot have a body"),
        (.array([]), "parameters: must be an object"),
    ]

    @Test("every invalid parameter is EPARAM naming the field, before any fetch", arguments: invalidCases)
    func invalidParameters(parameters: JSONValue, message: String) async throws {
        let fetcher = RecordingFetcher(contentType: nil, body: [])
        do {
            _ = try await Self.run(HTTPRequestNode(fetcher: fetcher), parameters)
            Issue.record("expected EPARAM")
        } catch {
            #expect(error.code == "EPARAM")
            #expect(error.disposition == .permanent)
            #expect(error.message == message)
        }
        #expect(fetcher.requests.isEmpty)
    }

    @Test("operator limits bound maxBytes and timeoutSeconds")
    func operatorLimits() async throws {
        let node = HTTPRequestNode(
            fetcher: RecordingFetcher(contentType: nil, body: []), limits: .init(maximumBytes: 1000, maximumTimeoutSeconds: 5))
        do {
            _ = try await Self.run(node, ["url": "https://x.example.com/", "maxBytes": 1001])
            Issue.record("expected EPARAM")
        } catch {
            #expect(error.message == "maxBytes: must be a whole number of bytes from 1 to 1000")
        }
    }

    // MARK: - Output

    @Test("JSON: the parsed value, with status, headers, content type, file name and size")
    func jsonOutput() async throws {
        let body = Array(#"{"items":[1,2],"ok":true}"#.utf8)
        let fetcher = RecordingFetcher(
            contentType: "application/json; charset=utf-8", body: body, headers: ["x-request-id": "r1"], filename: "items")
        let output = try await Self.output(fetcher, ["url": "https://api.example.com/items"])
        #expect(output["status"] == 200)
        #expect(output["headers"] == ["content-type": "application/json; charset=utf-8", "x-request-id": "r1"])
        #expect(output["contentType"] == "application/json")
        #expect(output["filename"] == "items")
        #expect(output["size"] == .integer(Int64(body.count)))
        #expect(output["body"] == ["items": [1, 2], "ok": true])
    }

    @Test("text: a string")
    func textOutput() async throws {
        let fetcher = RecordingFetcher(contentType: "text/csv", body: Array("a,b\n1,2\n".utf8))
        let output = try await Self.output(fetcher, ["url": "https://x.example.com/data.csv"])
        #expect(output["body"] == "a,b\n1,2\n")
        #expect(output["filename"] == .null)
    }

    @Test("binary: the bytes themselves")
    func binaryOutput() async throws {
        let bytes: [UInt8] = [0x25, 0x50, 0x44, 0x46, 0x00, 0xFF]
        let fetcher = RecordingFetcher(contentType: "application/pdf", body: bytes, filename: "a.pdf")
        let output = try await Self.output(fetcher, ["url": "https://x.example.com/a.pdf"])
        #expect(output["body"] == .bytes(bytes))
        #expect(output["size"] == 6)
        #expect(output["contentType"] == "application/pdf")
    }

    @Test(
        "auto picks by media type",
        arguments: [
            ("application/json", HTTPResponseFormat.json), ("application/vnd.api+json", .json), ("text/json", .json),
            ("text/html", .text), ("application/xml", .text), ("image/svg+xml", .text), ("application/javascript", .text),
            ("application/pdf", .binary), ("image/png", .binary), ("application/octet-stream", .binary),
        ])
    func autoResolution(mediaType: String, format: HTTPResponseFormat) {
        #expect(HTTPResponseFormat.auto.resolved(for: mediaType) == format)
    }

    @Test("auto with no Content-Type gives bytes")
    func autoWithoutContentType() {
        #expect(HTTPResponseFormat.auto.resolved(for: nil) == .binary)
    }

    @Test("an explicit format wins over the media type")
    func explicitFormats() async throws {
        let json = RecordingFetcher(contentType: "text/plain", body: Array(#"[1,"two"]"#.utf8))
        #expect(try await Self.output(json, ["url": "https://x.example.com/", "responseFormat": "json"])["body"] == [1, "two"])
        let text = RecordingFetcher(contentType: "application/octet-stream", body: Array("plain".utf8))
        #expect(try await Self.output(text, ["url": "https://x.example.com/", "responseFormat": "text"])["body"] == "plain")
        let binary = RecordingFetcher(contentType: "application/json", body: Array("{}".utf8))
        #expect(try await Self.output(binary, ["url": "https://x.example.com/", "responseFormat": "binary"])["body"] == .bytes(Array("{}".utf8)))
    }

    @Test("an empty JSON body is null; ISO-8859-1 text is decoded by its charset")
    func edgeBodies() async throws {
        let empty = RecordingFetcher(contentType: "application/json", body: [])
        #expect(try await Self.output(empty, ["url": "https://x.example.com/"])["body"] == .null)
        let latin1 = RecordingFetcher(contentType: "text/plain; charset=ISO-8859-1", body: [0x63, 0x61, 0x66, 0xE9])
        #expect(try await Self.output(latin1, ["url": "https://x.example.com/"])["body"] == "café")
    }

    @Test(
        "a body that is not what its format promises is EDECODE",
        arguments: [
            ("application/json", [UInt8]("{not json".utf8), "responseFormat: the response is not valid JSON"),
            ("text/plain", [0xC3, 0x28], "responseFormat: the response is not valid UTF-8 text"),
        ])
    func undecodable(contentType: String, body: [UInt8], prefix: String) async throws {
        let fetcher = RecordingFetcher(contentType: contentType, body: body)
        do {
            _ = try await Self.run(HTTPRequestNode(fetcher: fetcher), ["url": "https://x.example.com/"])
            Issue.record("expected EDECODE")
        } catch {
            #expect(error.code == "EDECODE")
            #expect(error.message.hasPrefix(prefix))
            #expect(error.message.hasSuffix("set Response format to text or binary"))
        }
    }

    @Test("a fetch error comes out unchanged")
    func fetchErrorsPassThrough() async throws {
        let refusal = NodeError(code: "EPOLICY", message: "url: refused", disposition: .permanent)
        let node = HTTPRequestNode(fetcher: RecordingFetcher(.failure(refusal)))
        do {
            _ = try await Self.run(node, ["url": "http://10.0.0.1/"])
            Issue.record("expected EPOLICY")
        } catch {
            #expect(error == refusal)
        }
    }
}
