// MARK: - Resolution

extension TemplateReference {
    /// What a reference reads: a JSON value (trigger body, step outputs) or a string stored as
    /// text (headers, query parameters, the run id, the time).
    enum Resolved {
        case value(JSONValue)
        case text(String)
    }

    /// The referenced value, or `nil` when the scope has no value there.
    func resolve(in scope: TemplateScope) -> Resolved? {
        switch root {
        case .triggerBody:
            return scope.triggerBody[path: path].map(Resolved.value)
        case .triggerHeaders:
            return entry(of: scope.triggerHeaders).map(Resolved.text)
        case .triggerQuery:
            return entry(of: scope.triggerQuery).map(Resolved.text)
        case .step(let id):
            return scope.stepOutputs[id]?[path: path].map(Resolved.value)
        case .runID:
            return path.isEmpty ? .text(scope.runID) : nil
        case .now:
            return path.isEmpty ? .text(scope.nowText) : nil
        }
    }

    /// Appends the referenced value as text (``JSONValue/textValue``).
    ///
    /// - Throws: ``TemplateError/missingPath(_:)`` when the scope has no value there;
    ///   ``TemplateError/binaryInText(_:)`` when the value is bytes, which have no text form.
    func appendText(in scope: TemplateScope, to text: inout String) throws(TemplateError) {
        switch resolve(in: scope) {
        case .value(.bytes)?:
            throw TemplateError.binaryInText(description)
        case .value(let value)?:
            value.appendText(to: &text)
        case .text(let string)?:
            text.append(string)
        case nil:
            throw TemplateError.missingPath(description)
        }
    }

    private func entry(of entries: [String: String]) -> String? {
        guard path.count == 1 else { return nil }
        switch path[0] {
        case .key(let key): return entries[key]
        case .index(let index): return entries[String(index)]
        }
    }
}
