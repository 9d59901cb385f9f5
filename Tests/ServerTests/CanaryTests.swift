import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Secrets
import Server
import Storage
import Synchronization
import TestSupport
import Testing
import Vault
import Workspaces

@Suite("A stored password appears nowhere: not the database, the data directory, logs or responses")
struct CanaryTests {
    /// Quote, backslash, slash and non-ASCII so the JSON-escaped form differs from the raw one.
    static let canary = #"Canary"Pa55\w0rd/ünïcode-7f3a"#

    /// Every spelling a leak could take: raw, base64, the AUTH PLAIN payload, JSON with and
    /// without escaped slashes, ASCII-escaped JSON, a debug description, and a distinctive core
    /// that no escaping changes.
    static var forms: [String: String] {
        func json(_ options: JSONSerialization.WritingOptions) -> String {
            String(String(decoding: try! JSONSerialization.data(withJSONObject: [canary], options: options), as: UTF8.self).dropFirst(2).dropLast(2))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let swiftJSON = String(String(decoding: try! encoder.encode(canary), as: UTF8.self).dropFirst().dropLast())
        return [
            "raw": canary,
            "core": "ünïcode-7f3a",
            "ascii-escaped core": "\\u00fcn\\u00efcode-7f3a",
            "base64": Data(canary.utf8).base64EncodedString(),
            "json": json([]),
            "json (slashes unescaped)": json(.withoutEscapingSlashes),
            "swift json": swiftJSON,
            "debug": String(reflecting: canary),
            "auth-plain": Data("\u{0}alice\u{0}\(canary)".utf8).base64EncodedString(),
        ]
    }

    @Test("create, patch, list, show and test a credential: the canary leaks nowhere")
    func canaryNowhere() async throws {
        let (server, authority) = try await ConnectionTestAPITests.server(password: Self.canary)
        let harness = try await APIHarness.make()
        let token = try await harness.workspace("Team")
        let responses = ResponseLog()
        try await harness.test { client in
            let body = try ConnectionTestAPITests.credential(port: server.port, password: Self.canary, authority: authority)
            let created = try await client.call(.post, "/api/v1/credentials", token: token, json: body)
            responses.append(created.text)
            let id = try #require(created["id"] as? String)
            responses.append(try await client.call(.patch, "/api/v1/credentials/\(id)", token: token, json: #"{"name":"Renamed"}"#).text)
            responses.append(try await client.call(.get, "/api/v1/credentials", token: token).text)
            responses.append(try await client.call(.get, "/api/v1/credentials/\(id)", token: token).text)
            let test = try await client.call(.post, "/api/v1/credentials/\(id)/test", token: token)
            responses.append(test.text)
            #expect(test["ok"] as? Bool == true, "\(test.text)")
            let invalid = try await client.call(.patch, "/api/v1/credentials/\(id)", token: token, json: #"{"password":"\#(Self.canary.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\r\n"}"#)
            #expect(invalid.status == .unprocessableContent)
            responses.append(invalid.text)
        }
        #expect(server.sessions.first?.authenticatedAs == "alice")
        try await harness.environment.close()
        let files = try collectBytes(under: harness.directory)
        #expect(files.contains("v1.k"), "the scan read the database")
        let logs = harness.logs.text
        #expect(logs.contains("smtp"), "trace logs were captured")
        for (name, form) in Self.forms {
            #expect(!files.contains(form), "\(name) form in the data directory")
            #expect(!logs.contains(form), "\(name) form in the logs")
            #expect(!responses.text.contains(form), "\(name) form in a response")
        }
        try? FileManager.default.removeItem(at: harness.directory)
        await server.shutdown()
    }
}

/// Every response body a test saw.
final class ResponseLog: Sendable {
    private let texts = Mutex<[String]>([])
    func append(_ text: String) { texts.withLock { $0.append(text) } }
    var text: String { texts.withLock { $0.joined(separator: "\n") } }
}
