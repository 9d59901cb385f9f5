/// The node types a server offers, by type name.
public struct NodeRegistry: Sendable {
    private let nodes: [String: any Node]

    /// A registry of `nodes`; a type registered twice keeps the last.
    public init(_ nodes: [any Node]) {
        var byType: [String: any Node] = [:]
        for node in nodes { byType[node.descriptor.type] = node }
        self.nodes = byType
    }

    public func node(type: String) -> (any Node)? { nodes[type] }

    /// Every descriptor, by type.
    public var descriptors: [NodeDescriptor] { nodes.values.map(\.descriptor).sorted { $0.type < $1.type } }
}
