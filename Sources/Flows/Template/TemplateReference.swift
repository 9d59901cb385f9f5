/// One `{{…}}` placeholder, parsed: where its value comes from and the path below that.
///
/// Flow validation reads these from ``Template/references`` to refuse a step that refers to a
/// step that does not run before it.
public struct TemplateReference: Sendable, Hashable {
    /// Where a reference starts.
    public enum Root: Sendable, Hashable {
        /// `trigger.body`: the trigger's parsed body; the path walks into it.
        case triggerBody
        /// `trigger.headers.<name>`: the path is exactly one key, the header name, stored lowercased
        /// because header names are case-insensitive.
        case triggerHeaders
        /// `trigger.query.<name>`: the path is exactly one key, the query parameter name
        /// (case-sensitive).
        case triggerQuery
        /// `steps.<id>.output`: the output of the step with this id; the path walks into it.
        case step(String)
        /// `run.id`: the run's id; no path.
        case runID
        /// `now`: the render time, ISO 8601 in UTC with milliseconds; no path.
        case now
    }

    /// Where the value comes from.
    public let root: Root
    /// The path below the root.
    public let path: [JSONPathComponent]

    /// Creates a reference. Header names in `path` are lowercased (ASCII) so lookups are
    /// case-insensitive however the reference was built.
    public init(root: Root, path: [JSONPathComponent] = []) {
        self.root = root
        switch root {
        case .triggerHeaders:
            self.path = path.map { component in
                switch component {
                case .key(let name): .key(name.asciiLowercased())
                case .index: component
                }
            }
        case .triggerBody, .triggerQuery, .step, .runID, .now:
            self.path = path
        }
    }

    /// The id of the step this reference reads, if it reads one.
    public var stepID: String? {
        switch root {
        case .step(let id): id
        case .triggerBody, .triggerHeaders, .triggerQuery, .runID, .now: nil
        }
    }
}

// MARK: - Printing

extension TemplateReference: CustomStringConvertible {
    /// The reference in template syntax without braces, e.g. `trigger.body.items.3.email` or
    /// `steps["send mail"].output.id`. Parsing `{{` + description + `}}` gives back this reference.
    public var description: String {
        var text = ""
        switch root {
        case .triggerBody:
            text.append("trigger.body")
        case .triggerHeaders:
            text.append("trigger.headers")
        case .triggerQuery:
            text.append("trigger.query")
        case .step(let id):
            text.append("steps")
            JSONPathComponent.key(id).append(to: &text)
            text.append(".output")
        case .runID:
            text.append("run.id")
        case .now:
            text.append("now")
        }
        for component in path {
            component.append(to: &text)
        }
        return text
    }
}
