import Foundation
import HTTPTypes
import Hummingbird
import Server
import Testing

/// The OpenAPI document, and what every API test checks against it: the route is documented, the
/// answer's status is one the operation lists, the answer's JSON matches the documented schema, and
/// a request the server accepted (2xx) matches the documented request schema — so the document can
/// neither promise what the server does not do nor refuse what it accepts.
enum OpenAPIContract {
    nonisolated(unsafe) static let document: [String: Any] = {
        guard let document = (try? JSONSerialization.jsonObject(with: OpenAPIDocument.data)) as? [String: Any] else {
            preconditionFailure("the OpenAPI document is not a JSON object")
        }
        return document
    }()

    nonisolated(unsafe) static let validator = JSONSchemaValidator(root: document)

    static var paths: [String: [String: Any]] { document["paths"] as? [String: [String: Any]] ?? [:] }

    /// The documented template for a concrete path: `/api/v1/runs/run_1/cancel` →
    /// `/api/v1/runs/{id}/cancel`. A literal segment wins over a parameter.
    static func template(for path: String) -> String? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        let candidates = paths.keys.filter { template in
            let parts = template.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == segments.count
                && zip(parts, segments).allSatisfy { part, segment in part == segment || (part.hasPrefix("{") && !segment.isEmpty) }
        }
        return candidates.max { $0.filter { $0 == "{" }.count > $1.filter { $0 == "{" }.count }
    }

    /// The problems of one exchange; empty when it keeps the contract (or the route is not one of
    /// ours: an unknown path is the router's 404).
    static func problems(method: String, uri: String, requestBody: String?, status: Int, responseBody: String) -> [String] {
        let path = String(uri.prefix { $0 != "?" })
        guard let template = template(for: path) else { return [] }
        guard let operation = paths[template]?[method.lowercased()] as? [String: Any] else {
            return status == 404 ? [] : ["\(method) \(template) answered \(status) but is not documented"]
        }
        var found: [String] = []
        let responses = operation["responses"] as? [String: Any] ?? [:]
        guard var response = (responses[String(status)] ?? responses["default"]) as? [String: Any] else {
            return ["\(method) \(template): status \(status) is not documented (documented: \(responses.keys.sorted()))"]
        }
        if let reference = response["$ref"] as? String, let resolved = validator.resolve(reference) as? [String: Any] {
            response = resolved
        }
        let content = response["content"] as? [String: Any]
        if let json = content?["application/json"] as? [String: Any], let schema = json["schema"] {
            if let value = try? JSONSerialization.jsonObject(with: Data(responseBody.utf8), options: [.fragmentsAllowed]) {
                found += validator.problems(value, schema: schema).map { "\(method) \(template) \(status) response: \($0)" }
            } else {
                found.append("\(method) \(template) \(status): the response is not JSON: \(responseBody.prefix(80))")
            }
        } else if content == nil && !responseBody.isEmpty && status != 304 {
            found.append("\(method) \(template) \(status): documented without content, answered \(responseBody.prefix(80))")
        }
        if (200..<300).contains(status), let requestBody, !requestBody.isEmpty,
            let body = operation["requestBody"] as? [String: Any],
            let json = ((body["content"] as? [String: Any])?["application/json"]) as? [String: Any], let schema = json["schema"],
            let value = try? JSONSerialization.jsonObject(with: Data(requestBody.utf8), options: [.fragmentsAllowed])
        {
            found += validator.problems(value, schema: schema).map { "\(method) \(template) request the server accepted: \($0)" }
        }
        return found
    }

    /// Records an issue for each problem of the exchange.
    static func check(method: String, uri: String, requestBody: String?, status: Int, responseBody: String) {
        for problem in problems(method: method, uri: uri, requestBody: requestBody, status: status, responseBody: responseBody) {
            Issue.record(Comment(rawValue: "OpenAPI contract: \(problem)"))
        }
    }
}

@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    @Test("every registered route is documented, and every documented route is registered")
    func routeCoverage() async throws {
        try await APIHarness.run { harness in
            let router = buildRouter(services: harness.environment.services)
            // The web app's pages and assets are not the API.
            let api = router.routes.filter { route in
                let path = "/" + route.path.description.drop { $0 == "/" }
                return ["/api/", "/hooks/", "/healthz", "/readyz"].contains { path.hasPrefix($0) }
            }
            let registered = Set(api.map { route in
                "\(route.method.rawValue) " + route.path.description
                    .split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                    .reduce("") { $0 + "/" + $1 }
            })
            var documented: Set<String> = []
            for (path, item) in OpenAPIContract.paths {
                for method in item.keys where ["get", "put", "post", "delete", "patch", "head", "options"].contains(method) {
                    documented.insert("\(method.uppercased()) \(path)")
                }
            }
            #expect(registered.subtracting(documented).sorted() == [], "registered but not documented")
            #expect(documented.subtracting(registered).sorted() == [], "documented but not registered")
        }
    }

    @Test("GET /api/v1/openapi.json serves the document without a token, with an ETag")
    func served() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let response = try await client.call(.get, "/api/v1/openapi.json", token: nil)
                #expect(response.status == .ok)
                #expect(response["openapi"] as? String == "3.1.0")
                let etag = try #require(response.headers[.eTag])
                let again = try await client.send("/api/v1/openapi.json", method: .get, headers: ["If-None-Match": etag])
                #expect(again.status == .notModified)
            }
        }
    }

    @Test("the validator catches what the contract forbids")
    func validatorSelfCheck() {
        let validator = OpenAPIContract.validator
        let credential: [String: Any] = ["$ref": "#/components/schemas/Credential"]
        #expect(!validator.problems(["id": 1], schema: credential).isEmpty)
        #expect(!validator.problems("text", schema: ["type": ["integer", "null"]]).isEmpty)
        #expect(validator.problems(NSNull(), schema: ["type": ["integer", "null"]]).isEmpty)
        #expect(!validator.problems(["a": 1, "b": 2], schema: ["type": "object", "properties": ["a": ["type": "integer"]], "additionalProperties": false]).isEmpty)
    }
}
