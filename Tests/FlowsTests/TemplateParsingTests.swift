import Testing
import Flows

@Suite("Template parsing")
struct TemplateParsingTests {
    @Test("malformed templates are refused at parse time, naming the offset", arguments: [
        ("Hi {{trigger.body.name", TemplateError.unterminated(offset: 3)),
        ("{{", .unterminated(offset: 0)),
        ("Grüße 👋🏽 {{ trigger.body", .unterminated(offset: 8)),
        ("ok {{run.id}} then {{now", .unterminated(offset: 19)),
        ("{{foo.bar}}", .unknownRoot("foo.bar", offset: 0)),
        ("x {{ trigger }}", .unknownRoot("trigger", offset: 2)),
        ("{{trigger.cookies.a}}", .unknownRoot("trigger.cookies.a", offset: 0)),
        ("{{steps.a.input.x}}", .unknownRoot("steps.a.input.x", offset: 0)),
        ("{{steps.a}}", .unknownRoot("steps.a", offset: 0)),
        ("{{run.name}}", .unknownRoot("run.name", offset: 0)),
        ("{{body.name}}", .unknownRoot("body.name", offset: 0)),
        ("{{ trigger.body.name | upper }}", .invalidReference("trigger.body.name | upper", offset: 0)),
        ("{{trigger.body.count + 1}}", .invalidReference("trigger.body.count + 1", offset: 0)),
        ("{{}}", .invalidReference("", offset: 0)),
        ("{{  }}", .invalidReference("", offset: 0)),
        ("{{trigger.body..x}}", .invalidReference("trigger.body..x", offset: 0)),
        ("{{trigger.body.}}", .invalidReference("trigger.body.", offset: 0)),
        (#"{{trigger.body["x}}"#, .invalidReference(#"trigger.body["x"#, offset: 0)),
        ("{{trigger.body[x]}}", .invalidReference("trigger.body[x]", offset: 0)),
        ("{{trigger.body[-1]}}", .invalidReference("trigger.body[-1]", offset: 0)),
        ("{{trigger.headers}}", .invalidReference("trigger.headers", offset: 0)),
        ("{{trigger.headers.a.b}}", .invalidReference("trigger.headers.a.b", offset: 0)),
        ("{{trigger.query.a.b}}", .invalidReference("trigger.query.a.b", offset: 0)),
        ("{{run.id.x}}", .invalidReference("run.id.x", offset: 0)),
        ("{{now.x}}", .invalidReference("now.x", offset: 0)),
        ("{{{trigger.body.name}}}", .invalidReference("{trigger.body.name", offset: 0)),
        ("{{trigger body}}", .invalidReference("trigger body", offset: 0)),
    ])
    func refused(_ source: String, _ error: TemplateError) {
        #expect(throws: error) { try Template(parsing: source) }
    }

    @Test("error messages name the offset and the text", arguments: [
        (TemplateError.unterminated(offset: 3), "unterminated {{ at offset 3"),
        (.invalidReference("a | b", offset: 7), #"invalid reference "a | b" at offset 7"#),
        (
            .unknownRoot("foo.bar", offset: 0),
            #"unknown root in "foo.bar" at offset 0; expected trigger.body, trigger.headers.<name>, trigger.query.<name>, steps.<id>.output, run.id or now"#
        ),
        (.missingPath("trigger.body.items.3.email"), "missing path trigger.body.items.3.email"),
    ])
    func messages(_ error: TemplateError, _ message: String) {
        #expect(error.description == message)
    }

    @Test("references list every placeholder once, in order")
    func references() throws {
        let template = try Template(parsing: """
            {{steps.a.output.x}} {{ steps.b.output }} {{trigger.body.y}} {{steps.a.output.x}} \
            {{run.id}} {{now}} {{trigger.headers.X-Sig}} {{trigger.query.q}} {{steps['c d'].output[0]}}
            """)
        #expect(template.references == [
            TemplateReference(root: .step("a"), path: [.key("x")]),
            TemplateReference(root: .step("b")),
            TemplateReference(root: .triggerBody, path: [.key("y")]),
            TemplateReference(root: .runID),
            TemplateReference(root: .now),
            TemplateReference(root: .triggerHeaders, path: [.key("x-sig")]),
            TemplateReference(root: .triggerQuery, path: [.key("q")]),
            TemplateReference(root: .step("c d"), path: [.index(0)]),
        ])
        #expect(template.references.compactMap(\.stepID) == ["a", "b", "c d"])
        #expect(template.hasPlaceholders)
    }

    @Test("escaped placeholders are not references")
    func escapedAreNotReferences() throws {
        let template = try Template(parsing: #"\{{steps.a.output}} and \{{ anything"#)
        #expect(template.references.isEmpty)
        #expect(!template.hasPlaceholders)
    }

    @Test("path segments: digits index, everything else is a key", arguments: [
        ("{{trigger.body.items.0.email}}", [JSONPathComponent.key("items"), .index(0), .key("email")]),
        ("{{trigger.body.items[12]}}", [.key("items"), .index(12)]),
        ("{{trigger.body.items.007}}", [.key("items"), .key("007")]),
        (#"{{trigger.body["0"]}}"#, [.key("0")]),
        (#"{{trigger.body["first name"]["a.b"]}}"#, [.key("first name"), .key("a.b")]),
        (#"{{trigger.body["say \"hi\""]}}"#, [.key(#"say "hi""#)]),
        (#"{{trigger.body['it\'s']}}"#, [.key("it's")]),
        (#"{{trigger.body["back\\slash"]}}"#, [.key(#"back\slash"#)]),
        (#"{{trigger.body[""]}}"#, [.key("")]),
        ("{{trigger.body.x-y_z:1@2}}", [.key("x-y_z:1@2")]),
        ("{{trigger.body.日本}}", [.key("日本")]),
        ("{{trigger.body}}", []),
    ])
    func pathSegments(_ source: String, _ path: [JSONPathComponent]) throws {
        let template = try Template(parsing: source)
        #expect(template.references == [TemplateReference(root: .triggerBody, path: path)])
    }

    @Test("a reference's description parses back to the same reference", arguments: [
        TemplateReference(root: .triggerBody, path: [.key("items"), .index(3), .key("email")]),
        TemplateReference(root: .triggerBody, path: [.key("first name"), .key("a.b"), .key("0"), .key("")]),
        TemplateReference(root: .triggerBody, path: [.key(#"say "hi" \ bye"#), .key("x]y"), .key("{{")]),
        TemplateReference(root: .triggerBody),
        TemplateReference(root: .triggerHeaders, path: [.key("X-Signature")]),
        TemplateReference(root: .triggerQuery, path: [.key("Page")]),
        TemplateReference(root: .step("send mail"), path: [.key("id")]),
        TemplateReference(root: .step("fetch")),
        TemplateReference(root: .runID),
        TemplateReference(root: .now),
    ])
    func descriptionRoundTrip(_ reference: TemplateReference) throws {
        let template = try Template(parsing: "{{" + reference.description + "}}")
        #expect(template.references == [reference])
    }

    @Test("reference descriptions use dotted segments where possible", arguments: [
        (TemplateReference(root: .triggerBody, path: [.key("items"), .index(3), .key("email")]), "trigger.body.items.3.email"),
        (TemplateReference(root: .triggerBody, path: [.key("first name")]), #"trigger.body["first name"]"#),
        (TemplateReference(root: .triggerBody, path: [.key("0")]), #"trigger.body["0"]"#),
        (TemplateReference(root: .triggerHeaders, path: [.key("X-Sig")]), "trigger.headers.x-sig"),
        (TemplateReference(root: .step("send mail"), path: [.key("id")]), #"steps["send mail"].output.id"#),
        (TemplateReference(root: .step("s1")), "steps.s1.output"),
    ])
    func descriptions(_ reference: TemplateReference, _ text: String) {
        #expect(reference.description == text)
    }

    @Test("templates are equal when their sources are")
    func equality() throws {
        #expect(try Template(parsing: "{{run.id}}") == Template(parsing: "{{run.id}}"))
        #expect(try Template(parsing: "{{run.id}}") != Template(parsing: "{{ run.id }}"))
        #expect(try Template(parsing: "a {{now}}").description == "a {{now}}")
    }
}
