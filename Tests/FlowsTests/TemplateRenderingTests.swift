import Foundation
import Testing
import Flows

@Suite("Template rendering")
struct TemplateRenderingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var template: String
        var expected: String
        var testDescription: String { template }

        init(_ template: String, _ expected: String) {
            self.template = template
            self.expected = expected
        }
    }

    static let cases: [Case] = [
        // Every root.
        .init("Hello {{trigger.body.name}}!", "Hello Ada!"),
        .init("{{trigger.headers.x-signature}}", "sig-123"),
        .init("{{trigger.query.page}}", "2"),
        .init("{{steps.fetch.output.id}}", "42"),
        .init("{{run.id}}", "run_123"),
        .init("{{now}}", "2025-03-09T07:30:00.123Z"),
        // Nested objects and arrays.
        .init("{{trigger.body.address.city}}", "Zürich"),
        .init("{{trigger.body.items.1.email}}", "b@x.io"),
        .init("{{trigger.body.items[0].email}}", "a@x.io"),
        .init("{{trigger.body.tags.1}}", "y"),
        .init("{{trigger.body.0}}", "zero key"),
        .init("{{steps.fetch.output.user.email}}", "u@x.io"),
        .init("{{trigger.body.prénom}}", "Adèle"),
        // Bracket keys.
        .init(#"{{trigger.body["first name"]}}"#, "Ada L."),
        .init("{{trigger.body['first name']}}", "Ada L."),
        .init("{{trigger.body['a.b']}}", "dotted key"),
        .init(#"{{trigger.body["s\a\y"]}}"#, #"say "hi""#),
        .init(#"{{steps["send mail"].output.messageId}}"#, "<m@x>"),
        .init("{{trigger.body['address'].zip}}", "8001"),
        // White space inside the braces.
        .init("{{ trigger.body.name }}", "Ada"),
        .init("{{\ttrigger.body.name\n}}", "Ada"),
        .init("{{   run.id}}", "run_123"),
        // Escapes and literal braces or backslashes.
        .init(#"\{{trigger.body.name}}"#, "{{trigger.body.name}}"),
        .init(#"\{{ not a placeholder"#, "{{ not a placeholder"),
        .init(#"C:\temp\{{x}} {{trigger.body.name}}"#, #"C:\temp{{x}} Ada"#),
        .init(#"a \ b \\ c"#, #"a \ b \\ c"#),
        .init("{ single } braces }} and {x}", "{ single } braces }} and {x}"),
        .init(#"{{trigger.body.name}}\"#, #"Ada\"#),
        // How values read.
        .init("{{trigger.body.count}} items", "3 items"),
        .init("{{trigger.body.ratio}}", "0.25"),
        .init("{{trigger.body.vip}}", "true"),
        .init("{{trigger.body.nick}}", "null"),
        .init("{{trigger.body.tags}}", #"["x","y"]"#),
        .init("{{trigger.body.address}}", #"{"city":"Zürich","zip":"8001"}"#),
        .init("{{steps.fetch.output}}", #"{"id":42,"user":{"email":"u@x.io"}}"#),
        .init("{{trigger.body.say}}", #"say "hi""#),
        // Header names are case-insensitive; query names are not.
        .init("{{trigger.headers.X-SIGNATURE}}", "sig-123"),
        .init("{{trigger.headers.Content-Type}}", "application/json"),
        .init("{{trigger.query.Page}}", "upper"),
        // Unicode around placeholders, and many in one string.
        .init("Grüße, {{trigger.body.name}} 👋🏽 — {{trigger.body.address.city}}!", "Grüße, Ada 👋🏽 — Zürich!"),
        .init(
            "{{run.id}}/{{trigger.body.name}}/{{trigger.body.count}}/{{trigger.query.page}}/{{steps.fetch.output.id}}/{{trigger.body.name}}",
            "run_123/Ada/3/2/42/Ada"
        ),
        .init("{{trigger.body.name}}{{trigger.body.name}}", "AdaAda"),
        .init("", ""),
        .init("no placeholders at all", "no placeholders at all"),
    ]

    @Test("placeholders render their values as text", arguments: cases)
    func renders(_ testCase: Case) throws {
        let template = try Template(parsing: testCase.template)
        #expect(try template.render(in: TemplateFixtures.scope) == testCase.expected)
    }

    @Test("a path with no value fails, naming the whole path", arguments: [
        ("{{trigger.body.items.3.email}}", "trigger.body.items.3.email"),
        ("Hi {{trigger.body.name.first}}", "trigger.body.name.first"),
        ("{{trigger.body.email}}", "trigger.body.email"),
        (#"{{trigger.body["last name"]}}"#, #"trigger.body["last name"]"#),
        ("{{ trigger.body.tags.x }}", "trigger.body.tags.x"),
        ("{{trigger.headers.X-Missing}}", "trigger.headers.x-missing"),
        ("{{trigger.query.PAGE}}", "trigger.query.PAGE"),
        ("{{steps.later.output.id}}", "steps.later.output.id"),
        ("{{steps.fetch.output.user.name}}", "steps.fetch.output.user.name"),
        ("ok {{trigger.body.name}} then {{trigger.body.nope}}", "trigger.body.nope"),
    ])
    func missingPath(_ source: String, _ path: String) throws {
        let template = try Template(parsing: source)
        #expect(throws: TemplateError.missingPath(path)) {
            try template.render(in: TemplateFixtures.scope)
        }
        #expect(TemplateError.missingPath(path).description == "missing path \(path)")
    }

    @Test("a null value is present, not missing")
    func nullIsPresent() throws {
        #expect(try Template(parsing: "[{{trigger.body.nick}}]").render(in: TemplateFixtures.scope) == "[null]")
    }

    @Test("headers differing only in case are joined in name order")
    func headerCollision() throws {
        let scope = TemplateScope(
            triggerBody: .null, triggerHeaders: ["x-a": "2", "X-A": "1"], triggerQuery: [:],
            stepOutputs: [:], runID: "r", now: Date(timeIntervalSince1970: 0)
        )
        #expect(try Template(parsing: "{{trigger.headers.X-a}}").render(in: scope) == "1, 2")
        #expect(scope.triggerHeaders == ["x-a": "1, 2"])
    }

    @Test("step outputs added to the scope become readable")
    func addingStepOutputs() throws {
        var scope = TemplateFixtures.scope
        let template = try Template(parsing: "{{steps.next.output.ok}}")
        #expect(throws: TemplateError.missingPath("steps.next.output.ok")) { try template.render(in: scope) }
        scope.stepOutputs["next"] = ["ok": true]
        #expect(try template.render(in: scope) == "true")
    }

    @Test("{{now}} is ISO 8601 in UTC with milliseconds", arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_741_505_400.123, "2025-03-09T07:30:00.123Z"),
        (951_782_400.999, "2000-02-29T00:00:00.999Z"),
        (-0.5, "1969-12-31T23:59:59.500Z"),
        (-86_400 * 365.0, "1969-01-01T00:00:00.000Z"),
        (4_102_444_799.0, "2099-12-31T23:59:59.000Z"),
        (253_402_300_799.0, "9999-12-31T23:59:59.000Z"),
    ])
    func now(_ seconds: Double, _ text: String) throws {
        let scope = TemplateScope(
            triggerBody: .null, triggerHeaders: [:], triggerQuery: [:], stepOutputs: [:], runID: "r",
            now: Date(timeIntervalSince1970: seconds)
        )
        #expect(try Template(parsing: "{{now}}").render(in: scope) == text)
    }

    @Test("{{now}} agrees with Foundation's ISO 8601 formatter over many instants")
    func nowMatchesFoundation() throws {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!)
        let template = try Template(parsing: "{{now}}")
        var seconds: Int64 = -2_208_988_800 // 1900-01-01
        while seconds < 4_102_444_800 { // 2100-01-01
            let date = Date(timeIntervalSince1970: Double(seconds) + 0.25)
            let scope = TemplateScope(
                triggerBody: .null, triggerHeaders: [:], triggerQuery: [:], stepOutputs: [:], runID: "r", now: date
            )
            let rendered = try template.render(in: scope)
            #expect(rendered == date.formatted(style), "\(seconds)")
            seconds += 86_400 * 13 + 3_607 * 7
        }
    }
}
