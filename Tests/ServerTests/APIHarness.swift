import Egress
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Secrets
import Server
import Storage
import Synchronization
import TestSupport
import Testing
import Vault
import Workspaces

/// A real server environment (SQLite and a key file in a fresh temporary data directory) whose
/// SMTP connections may reach loopback only, resolving every name to 127.0.0.1.
struct APIHarness {
    static let adminToken = "admin-token-for-tests-0123456789abcdef"

    let directory: URL
    let environment: PosthornEnvironment
    let logs: CapturedLogs

    /// Opens the environment and bootstraps it (admin token from the environment, default workspace).
    /// bcrypt runs at its lowest cost so sign-ins take milliseconds; `configure` changes the rest.
    static func make(_ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> APIHarness {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("posthorn-api-\(UUID().uuidString)")
        let logs = CapturedLogs()
        var logger = Logger(label: "test.server") { _ in logs.handler }
        logger.logLevel = .trace
        var configuration = ServerConfiguration(
            dataDirectory: directory, egressPolicy: EgressPolicy(allowlist: [CIDR(IPAddress("127.0.0.1")!)]),
            environment: ["POSTHORN_ADMIN_TOKEN": adminToken], logLevel: .trace)
        configuration.users.bcryptCost = 4
        // Check DNS never reaches a real DNS server from the tests.
        configuration.dnsServers = [("127.0.0.1", 9)]
        configure(&configuration)
        let environment = try await PosthornEnvironment.open(
            configuration: configuration, logger: logger, resolver: LoopbackResolver())
        _ = try await environment.bootstrap()
        return APIHarness(directory: directory, environment: environment, logs: logs)
    }

    /// Makes a harness, runs `body`, and closes it whatever happens.
    static func run(
        _ configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: (APIHarness) async throws -> Void
    ) async throws {
        let harness = try await make(configure)
        do {
            try await body(harness)
        } catch {
            await harness.close()
            throw error
        }
        await harness.close()
    }

    /// Runs `body` against the router (no socket), with request logs at trace level captured.
    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var logger = Logger(label: "test.http") { _ in logs.handler }
        logger.logLevel = .trace
        let app = Application(router: buildRouter(services: environment.services), logger: logger)
        try await app.test(.router, body)
    }

    /// A new workspace and its token.
    func workspace(_ name: String) async throws -> String {
        try await environment.services.workspaces.create(name: name).token.revealedValue
    }

    func close() async {
        try? await environment.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Every name is 127.0.0.1.
struct LoopbackResolver: HostResolver {
    func addresses(of host: String) async throws(ResolutionError) -> [IPAddress] {
        [IPAddress("127.0.0.1")!]
    }
}

// MARK: - Requests

extension TestClientProtocol {
    /// Sends `json` (a JSON object literal as text) with a bearer token; returns status and parsed body.
    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, token: String?, json: String? = nil) async throws -> APIResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        let response = try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            APIResponse(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
        OpenAPIContract.check(method: method.rawValue, uri: uri, requestBody: json, status: response.status.code, responseBody: response.text)
        return response
    }
}

/// A response with its body as text and as a JSON object.
struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var text: String

    var object: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]) ?? [:] }
    subscript(key: String) -> Any? { object[key] }
    var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
    var errorField: String? { (object["error"] as? [String: Any])?["field"] as? String }
    var errorMessage: String? { (object["error"] as? [String: Any])?["message"] as? String }
}
