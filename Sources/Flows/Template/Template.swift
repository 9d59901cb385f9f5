/// A string parameter with `{{…}}` placeholders, parsed once and rendered per run.
///
/// ## Placeholders
///
/// | placeholder | value |
/// |---|---|
/// | `{{trigger.body.<path>}}` | a value in the trigger's body; `{{trigger.body}}` is the whole body |
/// | `{{trigger.headers.<name>}}` | a request header; names are case-insensitive |
/// | `{{trigger.query.<name>}}` | a query parameter; names are case-sensitive |
/// | `{{steps.<id>.output.<path>}}` | a value in an earlier step's output |
/// | `{{run.id}}` | the run's id |
/// | `{{now}}` | the render time, ISO 8601 in UTC with milliseconds: `2025-03-09T07:30:00.000Z` |
///
/// White space (spaces, tabs, newlines) may surround the reference: `{{ trigger.body.name }}`.
///
/// ## Paths
///
/// A path is segments joined by dots. A segment that is a plain decimal (`0`, `12`) indexes an
/// array — or, on an object, reads the key spelled that way — so `items.0.email` reads the first
/// item's `email`. A segment ends at `.`, `[`, `]`, `{`, `}`, a quote, a backslash or white space;
/// any other character, including non-ASCII letters and `-`, is part of it (`x-signature`,
/// `prénom`).
///
/// Keys a dotted segment cannot spell use the bracket form, in double or single quotes (single
/// quotes avoid escaping inside a JSON document): `trigger.body["first name"]`,
/// `trigger.body['a.b']`, `steps["send mail"].output.id`. Inside the quotes a backslash makes the
/// next character literal (`["say \"hi\""]`). `[3]` is an index, like `.3`.
///
/// ## Escapes
///
/// `\{{` is a literal `{{`; the text after it is not a placeholder (`\{{ name }}` renders
/// `{{ name }}`). A backslash anywhere else is literal, so `C:\temp` needs no escaping. The one
/// thing that cannot be written is a backslash immediately before a placeholder's value, because
/// `\{{` always reads as the escape. A lone `{` or `}` is literal.
///
/// ## What is not here
///
/// No expressions, filters, defaults or code: a reference only reads a value. A path with no value
/// fails rendering with ``TemplateError/missingPath(_:)`` naming the whole path, rather than
/// silently inserting an empty string. How values read as text is ``JSONValue/textValue``.
public struct Template: Sendable {
    /// A run of literal text or one placeholder.
    enum Segment: Sendable, Hashable {
        case literal(String)
        case reference(TemplateReference)
    }

    /// The template as written.
    public let source: String
    /// Every placeholder, in order of first appearance, without repeats.
    public let references: [TemplateReference]
    let segments: [Segment]
    /// The rendered text when there are no placeholders (escapes already resolved).
    let constantText: String?
    /// Total length of the literal text, to size the output buffer.
    private let literalUTF8Count: Int

    /// Parses `source`.
    ///
    /// - Throws: ``TemplateError/unterminated(offset:)``, ``TemplateError/invalidReference(_:offset:)``
    ///   or ``TemplateError/unknownRoot(_:offset:)``.
    public init(parsing source: String) throws(TemplateError) {
        var parser = TemplateParser(source: source)
        let segments = try parser.parse()
        self.source = source
        self.segments = segments
        var references: [TemplateReference] = []
        var seen: Set<TemplateReference> = []
        var literalUTF8Count = 0
        for segment in segments {
            switch segment {
            case .literal(let text):
                literalUTF8Count += text.utf8.count
            case .reference(let reference):
                if seen.insert(reference).inserted { references.append(reference) }
            }
        }
        self.references = references
        self.literalUTF8Count = literalUTF8Count
        if segments.isEmpty {
            constantText = ""
        } else if segments.count == 1, case .literal(let text) = segments[0] {
            constantText = text
        } else {
            constantText = nil
        }
    }

    /// Whether the template has any placeholder.
    public var hasPlaceholders: Bool {
        constantText == nil
    }

    /// Renders the template in one pass over its parsed segments.
    ///
    /// - Throws: ``TemplateError/missingPath(_:)`` for the first placeholder with no value;
    ///   ``TemplateError/binaryInText(_:)`` for the first placeholder whose value is bytes (text
    ///   cannot hold them; see ``renderValue(in:)``); ``TemplateError/tooLarge(limit:)`` when the
    ///   text grows past ``RunLimits/maximumValueBytes``.
    public func render(in scope: TemplateScope) throws(TemplateError) -> String {
        if let constantText { return constantText }
        var text = ""
        text.reserveCapacity(literalUTF8Count + 16 * (segments.count / 2 + 1))
        for segment in segments {
            switch segment {
            case .literal(let literal):
                text.append(literal)
            case .reference(let reference):
                try reference.appendText(in: scope, to: &text)
            }
            // Checked as it grows, so a chain of templates that each double the last output stops
            // at the bound instead of allocating gigabytes first.
            if text.utf8.count > RunLimits.maximumValueBytes { throw TemplateError.tooLarge(limit: RunLimits.maximumValueBytes) }
        }
        return text
    }

    /// Renders the template as a parameter value: a string, except that a template which is
    /// exactly one placeholder (`"{{steps.fetch.output.body}}"`, white space inside the braces
    /// allowed) whose value is bytes renders to those bytes themselves, shared rather than copied
    /// or converted, so binary data passes from step to step without a text or base64 round trip.
    ///
    /// - Throws: as ``render(in:)``.
    /// Checks that no value inserted among literal text contains one of `forbidden`; a template
    /// that is exactly one placeholder is exempt (the whole value is the author's choice).
    ///
    /// Compares Unicode scalars, as the parsers that read the result do: a comma followed by a
    /// combining mark (`",\u{301}"`) is one `Character` that is not `","`, but a list parser
    /// splitting on scalars still sees the comma.
    func checkInsertions(in scope: TemplateScope, forbidding forbidden: Set<Unicode.Scalar>) throws(TemplateError) {
        guard segments.count > 1 else { return }
        for segment in segments {
            guard case .reference(let reference) = segment else { continue }
            var text = ""
            try reference.appendText(in: scope, to: &text)
            if text.unicodeScalars.contains(where: forbidden.contains) {
                throw TemplateError.forbiddenInsertion(reference.description)
            }
        }
    }

    func renderValue(in scope: TemplateScope) throws(TemplateError) -> JSONValue {
        guard segments.count == 1, case .reference(let reference) = segments[0] else {
            return .string(try render(in: scope))
        }
        switch reference.resolve(in: scope) {
        case .value(let value)?:
            if case .bytes = value { return value }
            return .string(value.textValue)
        case .text(let text)?:
            return .string(text)
        case nil:
            throw TemplateError.missingPath(reference.description)
        }
    }
}

// MARK: - Identity

extension Template: Hashable {
    /// Templates are equal when their sources are: everything else is derived from the source.
    public static func == (lhs: Template, rhs: Template) -> Bool {
        lhs.source == rhs.source
    }

    /// Hashes the source.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(source)
    }
}

extension Template: CustomStringConvertible {
    /// The source text.
    public var description: String {
        source
    }
}
