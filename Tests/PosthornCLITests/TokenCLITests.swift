import Foundation
import Testing

/// `posthorn token create|list|revoke` and `posthorn run cancel`, run as the real binary.
@Suite("posthorn token and run cancel")
struct TokenCLITests {
    typealias Scratch = CredentialCLITests.Scratch

    @Test("a token is printed once at creation, listed without its value, and revoked")
    func tokens() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let created = try scratch.run(["token", "create", "CRM sync"])
        #expect(created.status == 0, "\(created.stderr)")
        let value = try #require(created.json["token"] as? String)
        let id = try #require(created.json["id"] as? String)
        #expect(value.hasPrefix("ph_"))

        let listed = try scratch.run(["token", "list"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let items = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(items.compactMap { $0["name"] as? String }.contains("CRM sync"))
        #expect(!listed.stdout.contains(value))

        #expect(try scratch.run(["token", "create", "CRM sync"]).status == 1, "names are unique in a workspace")
        let revoked = try scratch.run(["token", "revoke", id])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let again = try scratch.run(["token", "revoke", id])
        #expect(again.status == 1)
        #expect(again.stderr.contains("API token not found"))
    }

    @Test("cancelling a finished run says so and exits 1; an unknown run too")
    func cancelFinished() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let file = try scratch.write(FlowCLITests.flow, to: "flow.json")
        let created = try scratch.run(["flow", "create", "-f", file])
        let id = try #require(created.json["id"] as? String)
        let ran = try scratch.run(["flow", "run", id, "--body", #"{"name":"Ada","items":[1]}"#])
        let runID = try #require(ran.json["id"] as? String)
        let cancelled = try scratch.run(["run", "cancel", runID])
        #expect(cancelled.status == 1)
        #expect(cancelled.stderr.contains("has already ended (succeeded)"), "\(cancelled.stderr)")
        #expect(try scratch.run(["run", "cancel", "run_nope"]).status == 1)
        #expect(try scratch.run(["run", "list", "--status", "cancelled"]).status == 0, "cancelled is a status the CLI knows")
    }
}
