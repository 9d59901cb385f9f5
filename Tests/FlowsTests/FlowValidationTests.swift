import Flows
import Testing

@Suite("Flow definitions: every rule names the field")
struct FlowValidationTests {
    static let registry = NodeRegistry([DebugEchoNode(), StrictNode()])

    /// A node with a declared form and no other parameters.
    struct StrictNode: Node {
        var descriptor: NodeDescriptor {
            NodeDescriptor(
                type: "test.strict", label: "Strict", summary: "",
                parameters: [
                    NodeParameter(name: "to", label: "To", kind: .string, required: true),
                    NodeParameter(name: "count", label: "Count", kind: .number),
                    NodeParameter(name: "urgent", label: "Urgent", kind: .boolean),
                    NodeParameter(name: "format", label: "Format", kind: .options, options: ["text", "html"]),
                ],
                isIdempotent: true)
        }

        func execute(_ context: NodeContext) async throws(NodeError) -> JSONValue { .null }
    }

    static func definition(
        steps: [FlowDefinition.Step] = [.init(id: "a", type: "debug.echo", parameters: [:])],
        trigger: FlowDefinition.Trigger = .init(type: "manual"), name: String = "Welcome"
    ) -> FlowDefinition {
        FlowDefinition(name: name, trigger: trigger, steps: steps)
    }

    @Test("a good definition passes", arguments: [
        FlowDefinition.Trigger(type: "manual"), .init(type: "webhook"), .init(type: "webhook", secret: "0123456789abcdef"),
        .init(type: "cron", expression: "0 9 * * MON-FRI", timeZone: "Europe/Berlin"), .init(type: "cron", expression: "@daily"),
    ])
    func valid(trigger: FlowDefinition.Trigger) throws {
        let steps: [FlowDefinition.Step] = [
            .init(id: "first", type: "test.strict", parameters: ["to": "{{trigger.body.email}}", "count": 2, "urgent": "{{trigger.body.flag}}", "format": "html"]),
            .init(id: "second", type: "debug.echo", parameters: ["x": "{{steps.first.output.id}}"], onError: "continue"),
        ]
        let validated = try Self.definition(steps: steps, trigger: trigger).validated(registry: Self.registry)
        #expect(validated.steps.map(\.id) == ["first", "second"])
        #expect(validated.steps[1].onError == .continue)
    }

    @Test("each broken rule is refused with its field", arguments: [
        (definition(name: ""), "name"),
        (definition(steps: []), "steps"),
        (definition(steps: [.init(id: "1a", type: "debug.echo", parameters: [:])]), "steps[0].id"),
        (definition(steps: [.init(id: "a", type: "debug.echo", parameters: [:]), .init(id: "a", type: "debug.echo", parameters: [:])]), "steps[1].id"),
        (definition(steps: [.init(id: "a", type: "no.such", parameters: [:])]), "steps[0].type"),
        (definition(steps: [.init(id: "a", type: "debug.echo", parameters: [:], onError: "retry")]), "steps[0].onError"),
        (definition(steps: [.init(id: "a", type: "debug.echo", parameters: "text")]), "steps[0].parameters"),
        (definition(steps: [.init(id: "a", type: "test.strict", parameters: [:])]), "steps[0].parameters.to"),
        (definition(steps: [.init(id: "a", type: "test.strict", parameters: ["to": ""])]), "steps[0].parameters.to"),
        (definition(steps: [.init(id: "a", type: "test.strict", parameters: ["to": "x", "cc": "y"])]), "steps[0].parameters.cc"),
        (definition(steps: [.init(id: "a", type: "test.strict", parameters: ["to": "x", "count": "two"])]), "steps[0].parameters.count"),
        (definition(steps: [.init(id: "a", type: "test.strict", parameters: ["to": "x", "urgent": 1])]), "steps[0].parameters.urgent"),
        (definition(steps: [.init(id: "a", type: "test.strict", parameters: ["to": "x", "format": "pdf"])]), "steps[0].parameters.format"),
        (definition(steps: [.init(id: "a", type: "debug.echo", parameters: ["x": "{{trigger.body.name"])]), "steps[0].parameters.x"),
        (definition(steps: [.init(id: "a", type: "debug.echo", parameters: ["x": "{{steps.b.output}}"]), .init(id: "b", type: "debug.echo", parameters: [:])]), "steps[0].parameters"),
        (definition(steps: [.init(id: "a", type: "debug.echo", parameters: ["x": "{{steps.a.output}}"])]), "steps[0].parameters"),
        (definition(trigger: .init(type: "email")), "trigger.type"),
        (definition(trigger: .init(type: "cron")), "trigger.expression"),
        (definition(trigger: .init(type: "cron", expression: "61 * * * *")), "trigger.expression"),
        (definition(trigger: .init(type: "cron", expression: "* * * * *", timeZone: "Mars/Olympus")), "trigger.timeZone"),
        (definition(trigger: .init(type: "webhook", secret: "short")), "trigger.secret"),
        (definition(trigger: .init(type: "manual", expression: "* * * * *")), "trigger"),
    ])
    func invalid(definition: FlowDefinition, field: String) {
        #expect(throws: FlowValidationError.self) { try definition.validated(registry: Self.registry) }
        do {
            _ = try definition.validated(registry: Self.registry)
        } catch {
            #expect(error.field == field, "\(error)")
        }
    }
}
