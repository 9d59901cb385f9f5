import Foundation
import Testing

/// `posthorn flow create|list|show|run` and `posthorn run list|show`, run as the real binary against a
/// scratch data directory.
@Suite("posthorn flow and run")
struct FlowCLITests {
    typealias Scratch = CredentialCLITests.Scratch

    static let flow = """
        {"name":"Greeter","trigger":{"type":"webhook"},
         "steps":[{"id":"greet","type":"debug.echo","parameters":{"message":"Hello {{trigger.body.name}}","first":"{{trigger.body.items.0}}"}},
                  {"id":"shout","type":"debug.echo","parameters":{"message":"{{steps.greet.output.message}}!"}}]}
        """

    @Test("create, list, run with --body to success, and show the run")
    func lifecycle() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let file = try scratch.write(Self.flow, to: "flow.json")

        let created = try scratch.run(["flow", "create", "-f", file])
        #expect(created.status == 0, "\(created.stderr)")
        let id = try #require(created.json["id"] as? String)
        let trigger = try #require(created.json["trigger"] as? [String: Any])
        #expect(trigger["type"] as? String == "webhook")
        #expect((trigger["url"] as? String)?.hasPrefix("/hooks/wh_") == true)

        let listed = try scratch.run(["flow", "list"])
        #expect(listed.status == 0)
        #expect((listed.json["flows"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])

        let ran = try scratch.run(["flow", "run", id, "--body", #"{"name":"Ada","items":["first item"]}"#])
        #expect(ran.status == 0, "\(ran.stdout) \(ran.stderr)")
        #expect(ran.json["status"] as? String == "succeeded")
        let steps = try #require(ran.json["steps"] as? [[String: Any]])
        #expect(steps.first?["output"] as? [String: String] == ["message": "Hello Ada", "first": "first item"])
        #expect(steps.last?["output"] as? [String: String] == ["message": "Hello Ada!"])
        #expect((ran.json["trigger"] as? [String: Any])?["kind"] as? String == "manual")
        let runID = try #require(ran.json["id"] as? String)

        let shown = try scratch.run(["run", "show", runID])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.json["id"] as? String == runID)
        #expect(shown.json["status"] as? String == "succeeded")
        #expect(shown.json["flowId"] as? String == id)

        let byName = try scratch.run(["flow", "run", "Greeter", "--body", #"{"name":"Grace","items":[1]}"#])
        #expect(byName.status == 0, "\(byName.stderr)")
        #expect((byName.json["steps"] as? [[String: Any]])?.last?["output"] as? [String: String] == ["message": "Hello Grace!"])

        let shownFlow = try scratch.run(["flow", "show", "Greeter"])
        #expect(shownFlow.json["id"] as? String == id)
        let history = try scratch.run(["run", "list", "--flow", id, "--status", "succeeded"])
        #expect(history.status == 0, "\(history.stderr)")
        let items = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]])
        #expect(items.count == 2)
        #expect(items.last?["id"] as? String == runID, "newest first")
        #expect(try scratch.run(["run", "list", "--status", "done"]).status == 1)
    }

    @Test("a run that fails prints the run and exits 1")
    func failedRun() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let file = try scratch.write(Self.flow, to: "flow.json")
        let id = try #require(try scratch.run(["flow", "create", "-f", file]).json["id"] as? String)

        // An empty body: the templates' paths are missing, so the first step fails naming one.
        let ran = try scratch.run(["flow", "run", id])
        #expect(ran.status == 1)
        #expect(ran.json["status"] as? String == "failed", "\(ran.stdout)")
        let error = try #require(ran.json["error"] as? [String: Any])
        #expect(error["code"] as? String == "ETEMPLATE")
        #expect((error["message"] as? String)?.contains("missing path trigger.body.") == true, "\(ran.stdout)")
        #expect(error["stepId"] as? String == "greet")
    }

    @Test("refusals exit 1 naming the field", arguments: [
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"nope"}]}"#, "error: steps[0].type: Unknown node type nope"),
        (#"{"name":"x","trigger":{"type":"manual"},"steps":[{"id":"a","type":"debug.echo","extra":1}]}"#, "error: steps[0].extra: Unknown field"),
        (#"{"name":"x","trigger":{"type":"manual"}}"#, "error: steps: Is required"),
        ("not json", "error: The request body must be a JSON object"),
    ])
    func refused(document: String, message: String) throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let outcome = try scratch.run(["flow", "create", "-f", try scratch.write(document, to: "flow.json")])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect((try scratch.run(["flow", "list"]).json["flows"] as? [Any])?.isEmpty == true)
    }

    @Test("run and show refuse what they cannot find, a draft with problems and a body that is not an object")
    func notFound() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let unknownFlow = try scratch.run(["flow", "run", "flow_missing"])
        #expect(unknownFlow.status == 1)
        #expect(unknownFlow.stderr.contains("error: flow: no flow flow_missing"))
        let unknownRun = try scratch.run(["run", "show", "run_missing"])
        #expect(unknownRun.status == 1)
        #expect(unknownRun.stderr.contains("error: run: no run run_missing"))

        let file = try scratch.write(#"{"name":"Draft","trigger":{"type":"manual"},"enabled":false,"steps":[]}"#, to: "draft.json")
        #expect(try scratch.run(["flow", "create", "-f", file]).status == 0)
        let draft = try scratch.run(["flow", "run", "Draft"])
        #expect(draft.status == 1)
        #expect(draft.stderr.contains("steps: A flow needs 1 to 100 steps"), "\(draft.stderr)")

        let array = try scratch.run(["flow", "run", "Draft", "--body", "[1]"])
        #expect(array.status == 1)
        #expect(array.stderr.contains("error: body: must be a JSON object"))
    }
}
