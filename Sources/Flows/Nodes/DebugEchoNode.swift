/// `debug.echo`: returns its (rendered) parameters as its output. For trying templates out, and
/// for tests and benchmarks of the engine itself.
public struct DebugEchoNode: Node {
    public init() {}

    public var descriptor: NodeDescriptor {
        NodeDescriptor(
            type: "debug.echo", label: "Echo", summary: "Returns its parameters, with every {{…}} resolved, as its output.",
            parameters: [
                NodeParameter(name: "message", label: "Message", kind: .text, help: "Any text; templates are resolved."),
            ],
            acceptsOtherParameters: true, isIdempotent: true, keywords: ["debug", "echo", "test", "log"])
    }

    public func execute(_ context: NodeContext) async throws(NodeError) -> JSONValue {
        context.parameters
    }
}
