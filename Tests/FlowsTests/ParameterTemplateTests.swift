import Testing
import Flows

@Suite("Parameter templates")
struct ParameterTemplateTests {
    @Test("every string in the tree is rendered; other values pass through")
    func rendersTree() throws {
        let parameters: JSONValue = [
            "to": "{{trigger.body.items.0.email}}",
            "subject": "Hi {{trigger.body.name}} ({{trigger.body.count}})",
            "count": 3,
            "cc": ["{{steps.fetch.output.user.email}}", "static@x.io", .null],
            "options": ["track": true, "note": #"\{{literal}}"#, "tag {{x}}": "keys are not templates"],
        ]
        let template = try ParameterTemplate(parsing: parameters)
        let rendered = try template.render(in: TemplateFixtures.scope)
        #expect(rendered == [
            "to": "a@x.io",
            "subject": "Hi Ada (3)",
            "count": 3,
            "cc": ["u@x.io", "static@x.io", .null],
            "options": ["track": true, "note": "{{literal}}", "tag {{x}}": "keys are not templates"],
        ])
        #expect(template.references == [
            TemplateReference(root: .step("fetch"), path: [.key("user"), .key("email")]),
            TemplateReference(root: .triggerBody, path: [.key("name")]),
            TemplateReference(root: .triggerBody, path: [.key("count")]),
            TemplateReference(root: .triggerBody, path: [.key("items"), .index(0), .key("email")]),
        ])
    }

    @Test("a tree without placeholders renders to itself")
    func constantTree() throws {
        let parameters: JSONValue = ["a": [1, "two", ["three": 3.5]], "b": "{ not a template }"]
        let template = try ParameterTemplate(parsing: parameters)
        #expect(!template.hasPlaceholders)
        #expect(template.references.isEmpty)
        #expect(try template.render(in: TemplateFixtures.scope) == parameters)
    }

    static let renderFailures: [(JSONValue, String)] = [
        (["to": "{{trigger.body.email}}"], "parameters.to: missing path trigger.body.email"),
        (["cc": ["ok", "{{steps.x.output.y}}"]], "parameters.cc.1: missing path steps.x.output.y"),
        (["reply to": "{{trigger.query.r}}"], #"parameters["reply to"]: missing path trigger.query.r"#),
        (["a": ["b": ["c": "{{trigger.body.items.9}}"]]], "parameters.a.b.c: missing path trigger.body.items.9"),
        (["b": "{{trigger.body.nope}}", "a": "{{trigger.body.gone}}"], "parameters.a: missing path trigger.body.gone"),
    ]

    @Test("render errors name the parameter and the path", arguments: renderFailures)
    func renderErrors(_ parameters: JSONValue, _ message: String) throws {
        let template = try ParameterTemplate(parsing: parameters)
        do {
            _ = try template.render(in: TemplateFixtures.scope)
            Issue.record("should fail: \(message)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("parse errors name the parameter")
    func parseErrors() {
        #expect(throws: ParameterTemplateError(parameterPath: "parameters.subject", error: .unterminated(offset: 3))) {
            try ParameterTemplate(parsing: ["subject": "Hi {{trigger.body.name", "to": "x"])
        }
        #expect(throws: ParameterTemplateError(parameterPath: "params.list.0", error: .unknownRoot("oops", offset: 0))) {
            try ParameterTemplate(parsing: ["list": ["{{oops}}"]], name: "params")
        }
        #expect(
            ParameterTemplateError(parameterPath: "parameters.subject", error: .unterminated(offset: 3)).description
                == "parameters.subject: unterminated {{ at offset 3"
        )
    }
}
