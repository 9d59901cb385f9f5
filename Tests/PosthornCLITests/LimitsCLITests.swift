import Foundation
import Testing

/// `posthorn credential add --per-…`, `credential limits`, `workspace limits` and `run list --status waiting`.
@Suite("posthorn sending limits")
struct LimitsCLITests {
    typealias Scratch = CredentialCLITests.Scratch

    @Test("limits are set on add, replaced and removed by credential limits, a workspace gets a cap, and a bad one names its field")
    func limits() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        #expect(try scratch.run(["workspace", "create", "Team"]).status == 0)
        let added = try scratch.run([
            "credential", "add", "--workspace", "Team", "--name", "Gmail", "--host", "smtp.gmail.com", "--per-day", "500",
        ])
        #expect(added.status == 0, "\(added.stderr)")
        #expect((added.json["limits"] as? [String: Any])?["perDay"] as? Int == 500)

        let changed = try scratch.run(["credential", "limits", "Gmail", "--workspace", "Team", "--per-minute", "30", "--count", "recipients"])
        let limits = changed.json["limits"] as? [String: Any]
        #expect(limits?["perMinute"] as? Int == 30 && limits?["perDay"] is NSNull && limits?["counts"] as? String == "recipients", "\(changed.stdout)")

        let refused = try scratch.run(["credential", "limits", "Gmail", "--workspace", "Team", "--per-hour", "0"])
        #expect(refused.status == 1 && refused.stderr.contains("limits.perHour"), "\(refused.stderr)")
        let badUnit = try scratch.run(["credential", "limits", "Gmail", "--workspace", "Team", "--per-hour", "5", "--count", "bytes"])
        #expect(badUnit.status == 1 && badUnit.stderr.contains("limits.counts"), "\(badUnit.stderr)")

        let removed = try scratch.run(["credential", "limits", "Gmail", "--workspace", "Team"])
        #expect(removed.status == 0 && removed.json["limits"] is NSNull, "\(removed.stdout)")

        let capped = try scratch.run(["workspace", "limits", "Team", "--per-day", "2000"])
        #expect((capped.json["limits"] as? [String: Any])?["perDay"] as? Int == 2000, "\(capped.stdout) \(capped.stderr)")
        #expect(try scratch.run(["workspace", "limits", "Team"]).json["limits"] is NSNull)

        let waiting = try scratch.run(["run", "list", "--workspace", "Team", "--status", "waiting"])
        #expect(waiting.status == 0 && waiting.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(waiting.stderr)")
    }
}

@Suite("posthorn suppression")
struct SuppressionCLITests {
    @Test("add, list and remove an address; a bad one names the field")
    func lifecycle() throws {
        let scratch = try CredentialCLITests.Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        #expect(try scratch.run(["workspace", "create", "Team"]).status == 0)
        let added = try scratch.run(["suppression", "add", "ada@example.com", "--workspace", "Team", "--note", "asked"])
        #expect(added.status == 0 && added.json["reason"] as? String == "manual", "\(added.stderr)")
        let listed = try scratch.run(["suppression", "list", "--workspace", "Team"])
        #expect((listed.json["items"] as? [[String: Any]])?.first?["address"] as? String == "ada@example.com")
        let bad = try scratch.run(["suppression", "add", "not an address", "--workspace", "Team"])
        #expect(bad.status == 1 && bad.stderr.contains("address"), "\(bad.stderr)")
        #expect(try scratch.run(["suppression", "remove", "ada@example.com", "--workspace", "Team"]).status == 0)
        #expect(try scratch.run(["suppression", "remove", "ada@example.com", "--workspace", "Team"]).status == 1)
    }
}
