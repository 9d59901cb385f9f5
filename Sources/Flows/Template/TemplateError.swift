/// Why a template could not be parsed or rendered.
///
/// Offsets count characters (extended grapheme clusters, what an editor shows) from 0 and point at
/// the `{{` that opens the placeholder in question. Messages quote the template's own text, which
/// is part of the flow definition, never a rendered value.
public enum TemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A `{{` with no `}}` after it.
    case unterminated(offset: Int)
    /// Text between the braces that is not a reference: an empty segment, an unclosed bracket, a
    /// filter (`{{ name | upper }}`), a path after `run.id` or `now`, a header or query entry
    /// without exactly one name. Carries the text between the braces, trimmed.
    case invalidReference(String, offset: Int)
    /// A reference that does not start with `trigger.body`, `trigger.headers.<name>`,
    /// `trigger.query.<name>`, `steps.<id>.output`, `run.id` or `now`. Carries the text between the
    /// braces, trimmed.
    case unknownRoot(String, offset: Int)
    /// At render time: the reference has no value in the scope. Carries the full reference path,
    /// e.g. `trigger.body.items.3.email`, so the run record says exactly what was missing.
    case missingPath(String)
    /// At render time: the reference's value is binary data (``JSONValue/bytes(_:)``, e.g. a
    /// fetched file) and the template has text around it. Bytes pass only as a whole parameter
    /// value (`"{{steps.fetch.output.body}}"`); spliced into text they would be garbage. Carries
    /// the full reference path.
    case binaryInText(String)
    /// A value inserted into surrounding text holds a character the parameter forbids there (an
    /// address list separator in `Name <{{email}}>`).
    case forbiddenInsertion(String)
    /// At render time: the rendered text (or the parameters in all) grew past `limit` bytes
    /// (``RunLimits/maximumValueBytes``).
    case tooLarge(limit: Int)

    /// A one-line message naming the offset or the path.
    public var description: String {
        switch self {
        case .unterminated(let offset):
            "unterminated {{ at offset \(offset)"
        case .invalidReference(let text, let offset):
            "invalid reference \"\(text)\" at offset \(offset)"
        case .unknownRoot(let text, let offset):
            "unknown root in \"\(text)\" at offset \(offset); expected trigger.body, trigger.headers.<name>, "
                + "trigger.query.<name>, steps.<id>.output, run.id or now"
        case .missingPath(let path):
            "missing path \(path)"
        case .forbiddenInsertion(let path):
            "{{\(path)}} inserted text containing a separator (, ; < > \") or a line break into surrounding text; to take a whole list from the input, make the parameter exactly {{\(path)}}"
        case .tooLarge(let limit):
            "the rendered value is larger than \(limit / 1_000_000) MB"
        case .binaryInText(let path):
            "\(path) is binary data; use it as the whole parameter value, not inside text"
        }
    }
}
