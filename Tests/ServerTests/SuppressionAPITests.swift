import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// `/api/v1/suppressions`: list, add by hand, remove.
@Suite("Suppression list API")
struct SuppressionAPITests {
    @Test("an admin adds an address (201, then 200 as it was), lists it, removes it (204, then 404); a bad address is 422 naming the field")
    func roundTrip() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let token = try #require(try await client.call(.post, "/api/v1/workspaces", token: APIHarness.adminToken, json: #"{"name":"Lists"}"#)["token"] as? String)
                let added = try await client.call(.post, "/api/v1/suppressions", token: token, json: #"{"address":"Ada@Example.COM","note":"asked"}"#)
                #expect(added.status == .created)
                #expect(added["address"] as? String == "Ada@example.com" && added["reason"] as? String == "manual" && added["detail"] as? String == "asked")
                #expect(try await client.call(.post, "/api/v1/suppressions", token: token, json: #"{"address":"ada@example.com"}"#).status == .ok)
                let list = try await client.call(.get, "/api/v1/suppressions", token: token)
                #expect((list["items"] as? [[String: Any]])?.map { $0["address"] as? String } == ["Ada@example.com"])
                let bad = try await client.call(.post, "/api/v1/suppressions", token: token, json: #"{"address":"Ada <ada@example.com>"}"#)
                #expect(bad.status == .unprocessableContent && (bad["error"] as? [String: Any])?["field"] as? String == "address")
                #expect(try await client.call(.delete, "/api/v1/suppressions/ADA%40example.com", token: token).status == .noContent)
                #expect(try await client.call(.delete, "/api/v1/suppressions/ada@example.com", token: token).status == .notFound)
                #expect((try await client.call(.get, "/api/v1/suppressions", token: token)["items"] as? [Any])?.isEmpty == true)
            }
        }
    }
}
