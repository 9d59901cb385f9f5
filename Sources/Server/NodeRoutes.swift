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
    var keywords: [String]
    var isIdempotent: Bool
    var acceptsOtherParameters: Bool
    var defaultOnError: String
    var parameters: [ParameterResponse]
    var outputs: [OutputResponse]

    struct OutputResponse: Encodable {
        var path: String
        var help: String
    }

    init(_ descriptor: NodeDescriptor) {
        type = descriptor.type
        label = descriptor.label
        summary = descriptor.summary
        keywords = descriptor.keywords
        isIdempotent = descriptor.isIdempotent
        acceptsOtherParameters = descriptor.acceptsOtherParameters
        defaultOnError = descriptor.defaultOnError.rawValue
        parameters = descriptor.parameters.map(ParameterResponse.init)
        outputs = descriptor.outputs.map { OutputResponse(path: $0.path, help: $0.help) }
    }
}

/// One form field: `kind` is `string`, `text`, `number`, `boolean`, `options`, `json` or
/// `credential`; `secret` fields are never written to the run history. A list of objects has its
/// row's fields in `items` and its cap in `maxItems`; `visibleWhen` shows a field only while a
/// sibling has one of some values.
struct ParameterResponse: Encodable {
    var name: String
    var label: String
    var kind: String
    var required: Bool
    @ExplicitNull var options: [String]?
    @ExplicitNull var defaultValue: JSONValue?
    @ExplicitNull var help: String?
    var secret: Bool
    @ExplicitNull var visibleWhen: VisibilityResponse?
    @ExplicitNull var items: [ParameterResponse]?
    @ExplicitNull var maxItems: Int?

    struct VisibilityResponse: Encodable {
        var parameter: String
        var equals: [JSONValue]
    }

    init(_ parameter: NodeParameter) {
        name = parameter.name
        label = parameter.label
        kind = parameter.kind.rawValue
        required = parameter.required
        options = parameter.options
        defaultValue = parameter.defaultValue
        help = parameter.help
        secret = parameter.isSecret
        visibleWhen = parameter.visibleWhen.map { VisibilityResponse(parameter: $0.parameter, equals: $0.equals) }
        items = parameter.itemFields?.map(ParameterResponse.init)
        maxItems = parameter.maxItems
    }

    private enum CodingKeys: String, CodingKey {
        case name, label, kind, required, options, defaultValue = "default", help, secret, visibleWhen, items, maxItems
    }
}
