import Flows
import Foundation
import TestSupport
import Testing

@Suite("Binary values: summaries, template passthrough, and resuming runs that carried bytes")
struct BinaryValueTests {
    /// SHA-256 of `abc` (FIPS 180-2, appendix B.1).
    static let abcDigest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    /// Content that must never show up in any printed or encoded form.
    static let secretContent = Array("PDF-1.7 confidential attachment body".utf8)

    static func encoded(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    // MARK: - Summaries

    @Test("bytes encode as a summary of size and SHA-256, never the content")
    func encodingIsSummary() throws {
        #expect(try Self.encoded(JSONValue.bytes(Array("abc".utf8)))
            == #"{"$binary":{"sha256":"\#(Self.abcDigest)","size":3}}"#)
        #expect(try Self.encoded(JSONValue.bytes([]))
            == #"{"$binary":{"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0}}"#)

        let text = try Self.encoded(["body": JSONValue.bytes(Self.secretContent), "status": 200])
        #expect(!text.contains("confidential"))
        #expect(text.contains(#""size":\#(Self.secretContent.count)"#))
    }

    @Test("text forms, descriptions and reflection show the summary, not the content")
    func textIsSummary() {
        let value = JSONValue.bytes(Array("abc".utf8))
        let summary = #"{"$binary":{"sha256":"\#(Self.abcDigest)","size":3}}"#
        #expect(value.compactJSON == summary)
        #expect(value.textValue == summary)
        #expect(JSONValue.array([value]).compactJSON == "[\(summary)]")

        let output: JSONValue = ["body": .bytes(Self.secretContent)]
        var dumped = ""
        dump(output, to: &dumped)
        for printed in ["\(output)", String(reflecting: output), dumped, "\(StepRecordFixtures.succeeded("a", output: output))"] {
            #expect(!printed.contains("confidential"), "\(printed)")
            #expect(!printed.contains("80, 68, 70"), "no byte-by-byte listing of \"PDF\"")
        }
    }

    @Test("a decoded summary is an ordinary object that says it is a summary; it is not bytes")
    func decodingNeverGivesBytes() throws {
        let original = JSONValue.bytes(Self.secretContent)
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(try Self.encoded(original).utf8))
        guard case .object(let members) = decoded else {
            Issue.record("decoded as \(decoded)")
            return
        }
        #expect(members.keys.sorted() == ["$binary"])
        #expect(decoded.isBinarySummary)
        #expect(decoded != original)
        #expect(!original.isBinarySummary)
        #expect(try JSONValue(parsing: Self.encoded(original)).isBinarySummary)
    }

    @Test("only the exact summary shape counts as a summary", arguments: [
        #"{"$binary":{"size":3,"sha256":"\#(abcDigest)","extra":1}}"#,
        #"{"$binary":{"size":3,"sha256":"\#(abcDigest)"},"other":1}"#,
        #"{"$binary":{"size":-1,"sha256":"\#(abcDigest)"}}"#,
        #"{"$binary":{"size":"3","sha256":"\#(abcDigest)"}}"#,
        #"{"$binary":{"size":3,"sha256":"BA7816BF"}}"#,
        #"{"$binary":"abc"}"#,
        #"["$binary"]"#,
    ])
    func notSummaries(_ text: String) throws {
        #expect(try !JSONValue(parsing: text).isBinarySummary)
    }

    // MARK: - Value semantics

    @Test("bytes compare and hash byte-wise and equal no other case")
    func equality() {
        let bytes = JSONValue.bytes([1, 2, 3])
        #expect(bytes == .bytes([1, 2, 3]))
        #expect(bytes != .bytes([1, 2]))
        #expect(bytes != [1, 2, 3])
        #expect(JSONValue.bytes(Array("abc".utf8)) != "abc")
        #expect(JSONValue.bytes([]) != .null)
        #expect(JSONValue.bytes([]) != .array([]))
        #expect(Set<JSONValue>([bytes, .bytes([1, 2, 3]), .bytes([3, 2, 1]), [1, 2, 3]]).count == 3)
    }

    @Test("a path stops at bytes")
    func pathLookup() {
        let output: JSONValue = ["body": .bytes([0x25, 0x50]), "status": 200]
        #expect(output[path: [.key("body")]] == .bytes([0x25, 0x50]))
        #expect(output[path: [.key("body"), .index(0)]] == nil)
        #expect(output[path: [.key("body"), .key("size")]] == nil)
    }

    // MARK: - Templates

    static let payload: [UInt8] = Array(0...255) + Self.secretContent

    static func scope(_ outputs: [String: JSONValue]) -> TemplateScope {
        TemplateScope(
            triggerBody: ["name": "Ada"], triggerHeaders: [:], triggerQuery: [:], stepOutputs: outputs, runID: "run_1",
            now: Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test("a parameter that is exactly one placeholder passes bytes through, unconverted and uncopied", arguments: [
        "{{steps.fetch.output.body}}",
        "{{ steps.fetch.output.body }}",
        "{{\tsteps['fetch'].output[\"body\"]\n}}",
    ])
    func wholePlaceholderPassthrough(_ placeholder: String) throws {
        let source = JSONValue.bytes(Self.payload)
        let parameters: JSONValue = [
            "attachments": [["source": "buffer", "content": .string(placeholder), "filename": "{{trigger.body.name}}.bin"]],
        ]
        let rendered = try ParameterTemplate(parsing: parameters).render(in: Self.scope(["fetch": ["body": source]]))
        #expect(rendered == ["attachments": [["source": "buffer", "content": .bytes(Self.payload), "filename": "Ada.bin"]]])

        guard case .bytes(let original) = source,
              case .bytes(let passed)? = rendered[path: [.key("attachments"), .index(0), .key("content")]]
        else {
            Issue.record("content did not render to bytes")
            return
        }
        let originalAddress = original.withUnsafeBufferPointer { $0.baseAddress }
        let passedAddress = passed.withUnsafeBufferPointer { $0.baseAddress }
        #expect(originalAddress == passedAddress, "the rendered value shares the step output's storage")
    }

    @Test("bytes inside longer text are an error naming the path", arguments: [
        ("x {{steps.fetch.output.body}}", "steps.fetch.output.body"),
        (" {{steps.fetch.output.body}}", "steps.fetch.output.body"),
        ("{{steps.fetch.output.body}}{{steps.fetch.output.body}}", "steps.fetch.output.body"),
        ("{{trigger.body.name}}: {{steps.fetch.output.files.0}}", "steps.fetch.output.files.0"),
    ])
    func bytesInText(_ text: String, _ path: String) throws {
        let scope = Self.scope(["fetch": ["body": .bytes(Self.payload), "files": [.bytes([1])]]])
        #expect(throws: TemplateError.binaryInText(path)) {
            try Template(parsing: text).render(in: scope)
        }
        do {
            _ = try ParameterTemplate(parsing: ["content": .string(text)]).render(in: scope)
            Issue.record("rendered bytes into text")
        } catch {
            #expect(error.error == .binaryInText(path))
            #expect("\(error)" == "parameters.content: \(path) is binary data; use it as the whole parameter value, not inside text")
        }
    }

    @Test("the text renderer refuses bytes even for a whole placeholder; other single placeholders stay strings")
    func textRendering() throws {
        let scope = Self.scope(["fetch": ["body": .bytes([1, 2]), "count": 3, "meta": ["a": true]]])
        #expect(throws: TemplateError.binaryInText("steps.fetch.output.body")) {
            try Template(parsing: "{{steps.fetch.output.body}}").render(in: scope)
        }
        let rendered = try ParameterTemplate(parsing: [
            "count": "{{ steps.fetch.output.count }}", "meta": "{{steps.fetch.output.meta}}", "run": "{{run.id}}",
        ]).render(in: scope)
        #expect(rendered == ["count": "3", "meta": #"{"a":true}"#, "run": "run_1"])
        #expect(throws: ParameterTemplateError(parameterPath: "parameters.x", error: .missingPath("steps.fetch.output.gone"))) {
            try ParameterTemplate(parsing: ["x": "{{steps.fetch.output.gone}}"]).render(in: scope)
        }
    }

    // MARK: - Processor

    let clock = TestClock()

    func processor(_ nodes: [any Node]) -> RunProcessor {
        let clock = self.clock
        return RunProcessor(registry: NodeRegistry(nodes), now: { clock.now }, jitter: { 0 })
    }

    static let retry = RetryPolicy(maxAttempts: 3, initialDelay: .seconds(10), maxDelay: .seconds(60))

    @Test("a later step receives an earlier step's bytes through {{steps.a.output.body}}")
    func bytesFlowBetweenSteps() async throws {
        let fetch = ScriptedNode(type: "test.fetch", [.succeed(["body": .bytes(Self.payload), "status": 200])])
        let send = ScriptedNode(type: "test.send", [.succeed(["sent": true])])
        let flow = Fixtures.flow([
            FlowStep(id: "a", type: fetch.type, parameters: [:]),
            FlowStep(id: "b", type: send.type, parameters: ["content": "{{steps.a.output.body}}"]),
        ])
        let ended = await processor([fetch, send]).process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .succeeded)
        #expect(send.calls.map(\.parameters) == [["content": .bytes(Self.payload)]])
        #expect(ended.steps[0].output == ["body": .bytes(Self.payload), "status": 200], "the record keeps the bytes in memory")

        let history = try Self.encoded(ended.steps)
        #expect(!history.contains("confidential"))
        #expect(history.contains(#""$binary""#))
    }

    @Test("resuming after storage: a step whose bytes became a summary runs again, and the retried step gets real bytes")
    func resumeReRunsLostBytes() async throws {
        let fetch = ScriptedNode(type: "test.fetch", [
            .succeed(["body": .bytes(Self.payload)]), .succeed(["body": .bytes(Self.payload)]),
        ])
        let send = ScriptedNode(type: "test.send", [.fail(.transient), .succeed(["sent": true])])
        let flow = Fixtures.flow([
            FlowStep(id: "a", type: fetch.type, parameters: [:]),
            FlowStep(id: "b", type: send.type, parameters: ["content": "{{steps.a.output.body}}"]),
        ], retry: Self.retry)
        let processor = self.processor([fetch, send])
        var waiting = await processor.process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(waiting.status == .queued)
        #expect(waiting.steps.map(\.status) == [.succeeded, .retrying])

        // What the run store gives back: the steps as encoded, then decoded.
        waiting.steps = try JSONDecoder().decode([StepRecord].self, from: JSONEncoder().encode(waiting.steps))
        #expect(waiting.steps[0].output?[path: [.key("body")]]?.isBinarySummary == true)

        clock.advance(60)
        waiting.restore(status: .running)
        let ended = await processor.process(waiting, flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .succeeded)
        #expect(fetch.calls.count == 2, "the step whose output was lost ran again")
        #expect(send.calls.map(\.parameters) == [["content": .bytes(Self.payload)], ["content": .bytes(Self.payload)]])
        #expect(send.calls.map(\.attempt) == [1, 2], "the retried step keeps its attempt count")
        #expect(ended.steps.map(\.status) == [.succeeded, .succeeded])
        #expect(ended.steps[0].output == ["body": .bytes(Self.payload)])
    }

    @Test("bytes still in memory (a store that keeps runs as values) are reused, not fetched again")
    func resumeKeepsBytesInMemory() async {
        let fetch = ScriptedNode(type: "test.fetch", [.succeed(["body": .bytes(Self.payload)])])
        let send = ScriptedNode(type: "test.send", [.fail(.transient), .succeed(["sent": true])])
        let flow = Fixtures.flow([
            FlowStep(id: "a", type: fetch.type, parameters: [:]),
            FlowStep(id: "b", type: send.type, parameters: ["content": "{{steps.a.output.body}}"]),
        ], retry: Self.retry)
        let processor = self.processor([fetch, send])
        var waiting = await processor.process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false }
        waiting.restore(status: .running)
        let ended = await processor.process(waiting, flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .succeeded)
        #expect(fetch.calls.count == 1)
        #expect(send.calls.last?.parameters == ["content": .bytes(Self.payload)])
    }

    @Test("only steps that lost bytes run again: a finished step after them with an intact output is not repeated")
    func resumeDoesNotRepeatIntactSteps() async throws {
        let fetch = ScriptedNode(type: "test.fetch", [
            .succeed(["body": .bytes(Self.payload)]), .succeed(["body": .bytes(Self.payload)]),
        ])
        let mail = ScriptedNode(type: "test.mail", idempotent: false, [.succeed(["messageId": "m1"])])
        let upload = ScriptedNode(type: "test.upload", [.fail(.transient), .succeed(["stored": true])])
        let flow = Fixtures.flow([
            FlowStep(id: "a", type: fetch.type, parameters: [:]),
            FlowStep(id: "mail", type: mail.type, parameters: ["attachment": "{{steps.a.output.body}}"]),
            FlowStep(id: "b", type: upload.type, parameters: [
                "content": "{{steps.a.output.body}}", "ref": "{{steps.mail.output.messageId}}",
            ]),
        ], retry: Self.retry)
        let processor = self.processor([fetch, mail, upload])
        var waiting = await processor.process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false }
        waiting.steps = try JSONDecoder().decode([StepRecord].self, from: JSONEncoder().encode(waiting.steps))
        waiting.restore(status: .running)
        let ended = await processor.process(waiting, flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(ended.status == .succeeded)
        #expect(fetch.calls.count == 2)
        #expect(mail.calls.count == 1, "a sent email is not sent again")
        #expect(upload.calls.last?.parameters == ["content": .bytes(Self.payload), "ref": "m1"])
        #expect(ended.steps.map(\.stepID) == ["a", "mail", "b"])
        #expect(ended.steps.map(\.status) == [.succeeded, .succeeded, .succeeded])
    }

    @Test("a summary nested deep in an output counts; when the re-run fails, the run fails and the stale retry is dropped")
    func resumeDeepSummaryAndFailure() async throws {
        let fetch = ScriptedNode(type: "test.fetch", [
            .succeed(["files": [["name": "a.pdf", "data": .bytes(Self.payload)]]]), .fail(.permanent),
        ])
        let send = ScriptedNode(type: "test.send", [.fail(.transient)])
        let flow = Fixtures.flow([
            FlowStep(id: "a", type: fetch.type, parameters: [:]),
            FlowStep(id: "b", type: send.type, parameters: ["content": "{{steps.a.output.files.0.data}}"]),
        ], retry: Self.retry)
        let processor = self.processor([fetch, send])
        var waiting = await processor.process(Fixtures.run(), flow: flow, logger: Fixtures.logger) { _ in false }
        waiting.steps = try JSONDecoder().decode([StepRecord].self, from: JSONEncoder().encode(waiting.steps))
        waiting.restore(status: .running)
        let ended = await processor.process(waiting, flow: flow, logger: Fixtures.logger) { _ in false }
        #expect(fetch.calls.count == 2)
        #expect(send.calls.count == 1, "never called with the summary")
        #expect(ended.status == .failed)
        #expect(ended.error?.stepID == "a")
        #expect(ended.steps.map(\.stepID) == ["a"])
    }
}

/// Step records for printing checks.
enum StepRecordFixtures {
    static func succeeded(_ id: String, output: JSONValue) -> StepRecord {
        StepRecord(
            stepID: id, type: "test", status: .succeeded, parameters: nil, output: output, error: nil, attempts: 1,
            startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 0))
    }
}
