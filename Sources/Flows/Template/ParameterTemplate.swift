/// A step's parameters with every string value parsed as a ``Template``: parsed once when the flow
/// is loaded, rendered into plain ``JSONValue`` parameters for each run.
///
/// Only string *values* are templates; object keys, numbers, bools and null pass through as they
/// are, and a rendered string stays a string (`"{{trigger.body.count}}"` renders `"3"`, not `3`).
/// The one exception is binary data: a string that is exactly one placeholder whose value is
/// ``JSONValue/bytes(_:)`` (`"{{steps.fetch.output.body}}"`) renders to those bytes, so a node can
/// hand a file to the next without encoding it; inside longer text it is
/// ``TemplateError/binaryInText(_:)``.
/// Subtrees without placeholders are resolved once (escapes applied) and returned without being
/// walked again.
///
/// Errors name the parameter, in the same path syntax as templates:
/// `parameters.to: missing path trigger.body.email`, `parameters.recipients.1: …`,
/// `parameters["reply to"]: …`. Object members are visited in sorted key order, so when several
/// parameters fail, the one reported is always the same.
public struct ParameterTemplate: Sendable, Hashable {
    /// A parsed parameters tree.
    indirect enum Node: Sendable, Hashable {
        /// A subtree without placeholders.
        case constant(JSONValue)
        /// A string with placeholders.
        case template(Template)
        case array([Node])
        /// Members sorted by key.
        case object([Member])
    }

    /// One object member.
    struct Member: Sendable, Hashable {
        var key: String
        var node: Node
    }

    /// The name errors start the parameter path with, `parameters` by default.
    public let name: String
    /// Every placeholder in the tree, in sorted-key document order, without repeats.
    public let references: [TemplateReference]
    let root: Node

    /// Parses every string in `parameters`.
    ///
    /// - Parameter name: how error messages name the root of the tree.
    /// - Throws: the first parse error, with the parameter's path.
    public init(parsing parameters: JSONValue, name: String = "parameters") throws(ParameterTemplateError) {
        var path: [JSONPathComponent] = []
        var references: [TemplateReference] = []
        var seen: Set<TemplateReference> = []
        let root = try Self.parse(parameters, path: &path, name: name) { reference in
            if seen.insert(reference).inserted { references.append(reference) }
        }
        self.name = name
        self.root = root
        self.references = references
    }

    /// Whether any parameter has a placeholder.
    public var hasPlaceholders: Bool {
        switch root {
        case .constant: false
        case .template, .array, .object: true
        }
    }

    /// Renders every template in the tree.
    ///
    /// - Throws: the first render error (in sorted-key document order), with the parameter's path.
    public func render(in scope: TemplateScope) throws(ParameterTemplateError) -> JSONValue {
        var path: [JSONPathComponent] = []
        var budget = RunLimits.maximumValueBytes
        return try Self.render(root, in: scope, path: &path, name: name, budget: &budget)
    }

    // MARK: - Parsing

    private static func parse(
        _ value: JSONValue,
        path: inout [JSONPathComponent],
        name: String,
        collect: (TemplateReference) -> Void
    ) throws(ParameterTemplateError) -> Node {
        switch value {
        case .null, .bool, .integer, .number, .bytes:
            return .constant(value)
        case .string(let text):
            guard text.utf8.contains(UInt8(ascii: "{")) else { return .constant(value) }
            let template: Template
            do {
                template = try Template(parsing: text)
            } catch {
                throw ParameterTemplateError(parameterPath: describe(path, name: name), error: error)
            }
            guard let constantText = template.constantText else {
                template.references.forEach(collect)
                return .template(template)
            }
            return .constant(.string(constantText))
        case .array(let elements):
            var nodes: [Node] = []
            nodes.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                path.append(.index(index))
                nodes.append(try parse(element, path: &path, name: name, collect: collect))
                path.removeLast()
            }
            let constants = nodes.compactMap(\.constantValue)
            return constants.count == nodes.count ? .constant(.array(constants)) : .array(nodes)
        case .object(let members):
            var nodes: [Member] = []
            nodes.reserveCapacity(members.count)
            for key in members.keys.sorted() {
                path.append(.key(key))
                nodes.append(Member(key: key, node: try parse(members[key]!, path: &path, name: name, collect: collect)))
                path.removeLast()
            }
            // Constant children may differ from the input (`\{{` resolved), so rebuild from them.
            var constants: [String: JSONValue] = [:]
            for member in nodes {
                guard let constant = member.node.constantValue else { return .object(nodes) }
                constants[member.key] = constant
            }
            return .constant(.object(constants))
        }
    }

    // MARK: - Rendering

    private static func render(
        _ node: Node,
        in scope: TemplateScope,
        path: inout [JSONPathComponent],
        name: String,
        budget: inout Int
    ) throws(ParameterTemplateError) -> JSONValue {
        switch node {
        case .constant(let value):
            return value
        case .template(let template):
            do throws(TemplateError) {
                let value = try template.renderValue(in: scope)
                // Each template is bounded alone; the budget bounds them together, so a hundred
                // parameters of 39 MB each cannot add up to gigabytes either.
                budget -= value.footprint.bytes
                guard budget >= 0 else { throw TemplateError.tooLarge(limit: RunLimits.maximumValueBytes) }
                return value
            } catch {
                throw ParameterTemplateError(parameterPath: describe(path, name: name), error: error)
            }
        case .array(let nodes):
            var elements: [JSONValue] = []
            elements.reserveCapacity(nodes.count)
            for (index, element) in nodes.enumerated() {
                path.append(.index(index))
                elements.append(try render(element, in: scope, path: &path, name: name, budget: &budget))
                path.removeLast()
            }
            return .array(elements)
        case .object(let members):
            var object: [String: JSONValue] = [:]
            object.reserveCapacity(members.count)
            for member in members {
                path.append(.key(member.key))
                object[member.key] = try render(member.node, in: scope, path: &path, name: name, budget: &budget)
                path.removeLast()
            }
            return .object(object)
        }
    }

    private static func describe(_ path: [JSONPathComponent], name: String) -> String {
        var text = name
        for component in path {
            component.append(to: &text)
        }
        return text
    }
}

extension ParameterTemplate.Node {
    /// The value of a subtree without placeholders.
    var constantValue: JSONValue? {
        switch self {
        case .constant(let value): value
        case .template, .array, .object: nil
        }
    }
}
