/// A node type as `GET /api/v1/nodes` lists it: enough for a UI to draw the form and validate it.
public struct NodeDescriptor: Sendable, Hashable {
    /// `debug.echo`, `smtp.send`.
    public var type: String
    public var label: String
    public var summary: String
    public var parameters: [NodeParameter]
    /// Whether parameters not in ``parameters`` are accepted (a node that echoes whatever it gets).
    public var acceptsOtherParameters: Bool
    /// Whether running the step twice is harmless. A run interrupted by a crash in the middle of a
    /// step that is not idempotent ends `ambiguous` instead of being re-run.
    public var isIdempotent: Bool
    /// What a new step of this type starts with (the spec: "stop — fail fast").
    public var defaultOnError: FlowStep.OnError
    /// Other words people search the node palette with (`mail`, `email` for *Send SMTP Email*).
    public var keywords: [String]
    /// The output's shape, for a UI to offer `{{steps.<id>.output.…}}` before the step ever ran:
    /// each path (`messageId`, `timings.dataMs`) and what it holds. Empty for a node whose output is
    /// whatever it was given (``acceptsOtherParameters``).
    public var outputs: [OutputField]

    /// One path of a node's output.
    public struct OutputField: Sendable, Hashable {
        /// Dotted, as a template writes it after `output.`.
        public var path: String
        public var help: String

        public init(_ path: String, _ help: String) {
            self.path = path
            self.help = help
        }
    }

    public init(
        type: String, label: String, summary: String, parameters: [NodeParameter], acceptsOtherParameters: Bool = false,
        isIdempotent: Bool, defaultOnError: FlowStep.OnError = .stop, keywords: [String] = [], outputs: [OutputField] = []
    ) {
        self.outputs = outputs
        self.keywords = keywords
        self.defaultOnError = defaultOnError
        self.type = type
        self.label = label
        self.summary = summary
        self.parameters = parameters
        self.acceptsOtherParameters = acceptsOtherParameters
        self.isIdempotent = isIdempotent
    }
}

/// One field of a node's form.
public struct NodeParameter: Sendable, Hashable {
    /// What a value may be. Every kind also accepts a string holding a `{{…}}` template, checked
    /// again once rendered.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// One line of text.
        case string
        /// Multi-line text.
        case text
        case number
        case boolean
        /// One of ``NodeParameter/options``.
        case options
        /// Any JSON value.
        case json
        /// The id of a stored credential in the flow's workspace.
        case credential
    }

    public var name: String
    public var label: String
    public var kind: Kind
    public var required: Bool
    public var options: [String]?
    public var defaultValue: JSONValue?
    public var help: String?
    /// Never written to the run history (a password typed straight into a step).
    public var isSecret: Bool
    /// Unicode scalars a `{{…}}` value inserted into surrounding text may not contain. For address
    /// fields: `Welcome <{{trigger.body.email}}>` must not let a webhook caller add recipients with
    /// `a@x, b@y`. A parameter that is exactly one placeholder takes the value as it is (the flow
    /// author chose to take a whole list from the input).
    public var insertionForbids: Set<Unicode.Scalar>?
    /// The fields of each item, for a ``Kind/json`` parameter that holds a list of objects
    /// (custom headers, attachments), so a UI can draw the rows.
    public var itemFields: [NodeParameter]?
    /// For a list (``itemFields``): the most items it may hold.
    public var maxItems: Int?
    /// When the form shows the field: only while another parameter (a sibling: in a list row, a
    /// field of the same row) has one of these values. `nil`: always.
    public var visibleWhen: Visibility?

    /// A condition on a sibling parameter's value.
    public struct Visibility: Sendable, Hashable {
        public var parameter: String
        public var equals: [JSONValue]

        public init(parameter: String, equals: [JSONValue]) {
            self.parameter = parameter
            self.equals = equals
        }
    }

    public init(
        name: String, label: String, kind: Kind, required: Bool = false, options: [String]? = nil,
        defaultValue: JSONValue? = nil, help: String? = nil, isSecret: Bool = false, insertionForbids: Set<Unicode.Scalar>? = nil,
        itemFields: [NodeParameter]? = nil, maxItems: Int? = nil, visibleWhen: Visibility? = nil
    ) {
        self.insertionForbids = insertionForbids
        self.itemFields = itemFields
        self.maxItems = maxItems
        self.visibleWhen = visibleWhen
        self.name = name
        self.label = label
        self.kind = kind
        self.required = required
        self.options = options
        self.defaultValue = defaultValue
        self.help = help
        self.isSecret = isSecret
    }
}
