import Flows
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import NIOCore
import Synchronization

/// A real HTTP server on 127.0.0.1 and a free port, with the routes the fetcher tests need, counting
/// the requests each path received.
///
/// | route | answer |
/// |---|---|
/// | `/file.pdf` | 2 048 bytes of `application/pdf`, `Content-Disposition` with `filename` and `filename*` |
/// | `/plain` | `hello, world` as `text/plain`, no disposition |
/// | `/json` | a JSON object |
/// | `/redirect` | 302 to `/file.pdf` |
/// | `/notfound` | 404 |
/// | `/empty` | 204 |
/// | `/status/:code` (GET, POST, PUT, PATCH, DELETE) | that status, a short body |
/// | `/big` | 4 GiB, chunked, no `Content-Length` |
/// | `/declared-big` | 200 000 bytes with `Content-Length` |
/// | `/slow` (GET, POST, PUT, DELETE) | answers after 3 s |
/// | `/drip` | the head at once, then one byte every 100 ms for 3 s |
/// | `/echo-host` | the `Host` header it received |
/// | `/echo` (POST, PUT, PATCH, DELETE) | the method, `Content-Type`, `X-Token` and body as JSON |
/// | `/headers` | repeated and mixed-case headers |
final class FetchTestServer: Sendable {
    /// The bytes `/file.pdf` serves.
    static let pdfBytes: [UInt8] = Array("%PDF-1.4\n".utf8) + (0..<2039).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    static let declaredBigSize = 200_000

    let port: Int
    private let state: SharedState

    private init(port: Int, state: SharedState) {
        self.port = port
        self.state = state
    }

    /// Requests received for `path` (`/redirect`).
    func requests(to path: String) -> Int { state.counts.withLock { $0[path, default: 0] } }

    /// Requests received for every path.
    var totalRequests: Int { state.counts.withLock { $0.values.reduce(0, +) } }

    /// What `/big` sends: more than any test's limit and, at loopback speed, more than a test's
    /// timeout lets a client read.
    static let bigStreamSize = 4 * 1024 * 1024 * 1024

    /// `http://<host>:<port><path>`.
    func url(_ path: String, host: String = "localhost") -> String { "http://\(host):\(port)\(path)" }

    /// Starts a server, runs `body` with it, and stops it.
    static func with<Value: Sendable>(_ body: @Sendable (FetchTestServer) async throws -> Value) async throws -> Value {
        let state = SharedState()
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "fetch-test-server")
        logger.logLevel = .critical
        let app = Application(
            router: makeRouter(state),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger)

        // Stopped by a graceful shutdown, never by cancelling it: a server task cancelled while a
        // connection is accepted but not yet served trips NIO's "Deinited NIOAsyncWriter without
        // calling finish()" (apple/swift-nio#2813) and takes the whole test process down.
        // A connection a test's client abandoned mid-request (a timeout) can keep the graceful
        // shutdown waiting; after 2 s the server is cancelled, when nothing is still being accepted.
        var configuration = ServiceGroupConfiguration(services: [app], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(2)
        let services = ServiceGroup(configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                await services.triggerGracefulShutdown()
                throw CancellationError()
            }
            let server = FetchTestServer(port: port, state: state)
            let result: Result<Value, any Error>
            do {
                result = .success(try await body(server))
            } catch {
                result = .failure(error)
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            return try result.get()
        }
    }

    // MARK: - Routes

    private final class SharedState: Sendable {
        let counts = Mutex<[String: Int]>([:])
    }

    private struct CountingMiddleware<Context: RequestContext>: RouterMiddleware {
        let state: SharedState

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            state.counts.withLock { $0[request.uri.path, default: 0] += 1 }
            return try await next(request, context)
        }
    }

    private static func makeRouter(_ state: SharedState) -> Router<BasicRequestContext> {
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: CountingMiddleware(state: state))

        router.get("/file.pdf") { _, _ in
            Response(
                status: .ok,
                headers: [
                    .contentType: "application/pdf",
                    .contentDisposition: "attachment; filename=\"fallback.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
                ],
                body: .init(byteBuffer: ByteBuffer(bytes: pdfBytes)))
        }
        router.get("/plain") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "hello, world")))
        }
        router.get("/json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"ok":true,"items":[1,2,3],"name":"Zoë"}"#)))
        }
        router.get("/redirect") { _, _ in
            Response(status: .found, headers: [.location: "/file.pdf"])
        }
        router.get("/notfound") { _, _ in
            Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "no such file")))
        }
        router.get("/empty") { _, _ in
            Response(status: .noContent)
        }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("/status/:code", method: method) { _, context in
                let code = try context.parameters.require("code", as: Int.self)
                return Response(status: .init(code: code), body: .init(byteBuffer: ByteBuffer(string: "status \(code)")))
            }
        }
        router.get("/big") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/octet-stream"],
                body: ResponseBody { writer in
                    let chunk = ByteBuffer(repeating: 0x42, count: 64 * 1024)
                    for _ in 0..<(bigStreamSize / chunk.readableBytes) {
                        try Task.checkCancellation()
                        try await writer.write(chunk)
                    }
                    try await writer.finish(nil)
                })
        }
        router.get("/declared-big") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/octet-stream"],
                body: .init(byteBuffer: ByteBuffer(repeating: 0x43, count: declaredBigSize)))
        }
        for method in [HTTPRequest.Method.get, .post, .put, .delete] {
            router.on("/slow", method: method) { _, _ in
                try await Task.sleep(for: .seconds(30))
                return "late"
            }
        }
        router.get("/drip") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain"],
                body: ResponseBody { writer in
                    for _ in 0..<30 {
                        try await writer.write(ByteBuffer(string: "."))
                        try await Task.sleep(for: .seconds(1))
                    }
                    try await writer.finish(nil)
                })
        }
        router.get("/echo-host") { request, _ in
            request.head.authority ?? ""
        }
        for method in [HTTPRequest.Method.post, .put, .patch, .delete] {
            router.on("/echo", method: method) { request, _ in
                let body = try await request.body.collect(upTo: 1 << 20)
                let echo: JSONValue = .object([
                    "method": .string(request.method.rawValue),
                    "contentType": .string(request.headers[.contentType] ?? ""),
                    "token": .string(request.headers[HTTPField.Name("X-Token")!] ?? ""),
                    "body": .string(String(buffer: body)),
                ])
                let json = echo.compactJSON
                return Response(
                    status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
            }
        }
        router.get("/headers") { _, _ in
            var headers = HTTPFields()
            headers.append(HTTPField(name: .contentType, value: "text/plain"))
            headers.append(HTTPField(name: HTTPField.Name("X-Multi")!, value: "one"))
            headers.append(HTTPField(name: HTTPField.Name("X-Multi")!, value: "two"))
            headers.append(HTTPField(name: HTTPField.Name("X-Mixed-Case")!, value: "Value"))
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "ok")))
        }
        return router
    }
}
