import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Secrets
import Server
import Storage
import Testing
import Vault
import Workspaces

@Suite("API: health, tokens and workspaces")
struct AuthAndWorkspaceTests {
    @Test("healthz answers without a token")
    func health() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let response = try await client.call(.get, "/healthz", token: nil)
                #expect(response.status == .ok)
                #expect(response["status"] as? String == "ok")
                let ready = try await client.call(.get, "/readyz", token: nil)
                #expect(ready.status == .ok && ready["status"] as? String == "ready", "the database answers")
            }
        }
    }

    @Test("a missing, malformed or unknown token is 401 with a Bearer challenge", arguments: [
        nil, "", "Basic abc", "Bearer ", "Bearer ph_notarealtoken",
    ])
    func unauthorized(header: String?) async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                var headers: HTTPFields = [:]
                if let header { headers[.authorization] = header }
                let status = try await client.execute(uri: "/api/v1/credentials", method: .get, headers: headers) { response in
                    #expect(response.headers[.wwwAuthenticate] == "Bearer")
                    #expect(String(buffer: response.body).contains("\"unauthorized\""))
                    return response.status
                }
                #expect(status == .unauthorized)
            }
        }
    }

    @Test("a workspace's sending cap: set with PATCH, shown by GET, refused naming the field, removed with null")
    func workspaceCap() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let token = try #require(try await client.call(.post, "/api/v1/workspaces", token: APIHarness.adminToken, json: #"{"name":"Capped"}"#)["token"] as? String)
                #expect(try await client.call(.get, "/api/v1/workspace", token: token)["limits"] is NSNull)
                let set = try await client.call(.patch, "/api/v1/workspace", token: token, json: #"{"limits":{"perDay":2000,"counts":"recipients"}}"#)
                #expect(set.status == .ok)
                let limits = try #require(set["limits"] as? [String: Any])
                #expect(limits["perDay"] as? Int == 2000 && limits["counts"] as? String == "recipients" && limits["perMinute"] is NSNull)
                #expect((try await client.call(.get, "/api/v1/workspace", token: token)["limits"] as? [String: Any])?["perDay"] as? Int == 2000)
                let zero = try await client.call(.patch, "/api/v1/workspace", token: token, json: #"{"limits":{"perHour":0}}"#)
                #expect(zero.status == .unprocessableContent)
                #expect((zero["error"] as? [String: Any])?["field"] as? String == "limits.perHour")
                let missing = try await client.call(.patch, "/api/v1/workspace", token: token, json: #"{}"#)
                #expect((missing["error"] as? [String: Any])?["field"] as? String == "limits")
                #expect(try await client.call(.patch, "/api/v1/workspace", token: token, json: #"{"limits":null}"#)["limits"] is NSNull)
            }
        }
    }

    @Test("the admin creates workspaces; the new token sees only its own workspace")
    func createWorkspace() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/workspaces", token: APIHarness.adminToken, json: #"{"name":"Marketing"}"#)
                #expect(created.status == .created)
                let token = try #require(created["token"] as? String)
                #expect(token.hasPrefix("ph_"))
                let workspace = try #require(created["workspace"] as? [String: Any])
                #expect(workspace["name"] as? String == "Marketing")

                let mine = try await client.call(.get, "/api/v1/workspace", token: token)
                #expect(mine.status == .ok)
                #expect(mine["id"] as? String == workspace["id"] as? String)
                #expect(mine.text.contains(token) == false)

                let again = try await client.call(.post, "/api/v1/workspaces", token: APIHarness.adminToken, json: #"{"name":"Marketing"}"#)
                #expect(again.status == .conflict)
                #expect(again.errorField == "name")
            }
        }
    }

    @Test("creating a workspace needs the admin token; credentials need a workspace token")
    func tokenKinds() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Sales")
            try await harness.test { client in
                let byWorkspace = try await client.call(.post, "/api/v1/workspaces", token: token, json: #"{"name":"Other"}"#)
                #expect(byWorkspace.status == .forbidden)
                #expect(byWorkspace.errorCode == "admin_token_required")
                let byAdmin = try await client.call(.get, "/api/v1/credentials", token: APIHarness.adminToken)
                #expect(byAdmin.status == .forbidden)
                #expect(byAdmin.errorCode == "workspace_token_required")
            }
        }
    }

    @Test("workspace names are checked", arguments: [
        (#"{"name":""}"#, "name"), (#"{"name":" padded"}"#, "name"), (#"{"name":"a\nb"}"#, "name"),
        (#"{}"#, "name"), (#"{"name":"ok","extra":1}"#, "extra"), (#"{"name":5}"#, "name"),
    ])
    func workspaceValidation(body: String, field: String) async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let response = try await client.call(.post, "/api/v1/workspaces", token: APIHarness.adminToken, json: body)
                #expect(response.status == .unprocessableContent)
                #expect(response.errorField == field)
                #expect(try await harness.environment.storage.store.workspaces().count == 1)
            }
        }
    }

    @Test("a body that is not a JSON object is 400")
    func malformedJSON() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                for body in ["{", "[]", "\"name\"", ""] {
                    let response = try await client.call(.post, "/api/v1/workspaces", token: APIHarness.adminToken, json: body)
                    #expect(response.status == .badRequest, "\(body)")
                    #expect(response.errorCode == "invalid_json")
                }
            }
        }
    }

    @Test("tokens are stored hashed: the database never holds one")
    func tokensHashed() async throws {
        let harness = try await APIHarness.make()
        let token = try await harness.workspace("Hashed")
        try await harness.environment.close()
        let bytes = try collectBytes(under: harness.directory)
        #expect(bytes.contains(TokenHash.of(Secret(token))), "the scan read the stored hash")
        #expect(!bytes.contains(token))
        #expect(!bytes.contains(APIHarness.adminToken))
        try? FileManager.default.removeItem(at: harness.directory)
    }
}

/// Every file under `directory`, concatenated and decoded leniently.
func collectBytes(under directory: URL) throws -> String {
    var data = Data()
    let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
    while let url = enumerator?.nextObject() as? URL {
        if let contents = FileManager.default.contents(atPath: url.path) { data.append(contents) }
    }
    return String(decoding: data, as: UTF8.self)
}
