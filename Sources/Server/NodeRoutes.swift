import Flows
import Hummingbird

/// `GET /api/v1/nodes`: every node type with the form a UI draws for it. Any valid token may ask;
/// the list is the server's, the same for every workspace.
struct NodeRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        let nodes = NodeListResponse(nodes: services.flows.registry.descriptors.map(NodeResponse.init))
        group.get("nodes") { _, _ in nodes }
    }
}

struct NodeListResponse: ResponseEncodable {
    var nodes: [NodeResponse]
}

/// A node type: its name, what it does, whether a crash mid-step may repeat it, and its form.
struct NodeResponse: Encodable {
    var type: String
    var label: String
    var summary: String
    var isIdempotent: Bool
    var acceptsOtherParameters: Bool
    var parameters: [ParameterResponse]

    init(_ descriptor: NodeDescriptor) {
        type = descriptor.type
        label = descriptor.label
        summary = descriptor.summary
        isIdempotent = descriptor.isIdempotent
        acceptsOtherParameters = descriptor.acceptsOtherParameters
        parameters = descriptor.parameters.map(ParameterResponse.init)
    }
}

/// One form field: `kind` is `string`, `text`, `number`, `boolean`, `options`, `json` or
/// `credential`; `secret` fields are never written to the run history.
struct ParameterResponse: Encodable {
    var name: String
    var label: String
    var kind: String
    var required: Bool
    var options: [String]?
    var defaultValue: JSONValue?
    var help: String?
    var secret: Bool

    init(_ parameter: NodeParameter) {
        name = parameter.name
        label = parameter.label
        kind = parameter.kind.rawValue
        required = parameter.required
        options = parameter.options
        defaultValue = parameter.defaultValue
        help = parameter.help
        secret = parameter.isSecret
    }

    private enum CodingKeys: String, CodingKey {
        case name, label, kind, required, options, defaultValue = "default", help, secret
    }

    // Explicit nulls, so a form builder sees every field.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(label, forKey: .label)
        try container.encode(kind, forKey: .kind)
        try container.encode(required, forKey: .required)
        try container.encode(options, forKey: .options)
        try container.encode(defaultValue, forKey: .defaultValue)
        try container.encode(help, forKey: .help)
        try container.encode(secret, forKey: .secret)
    }
}
