// MARK: - Resolution

extension TemplateReference {
    /// Appends the referenced value as text (``JSONValue/textValue``); `false`, appending nothing,
    /// when the scope has no value there.
    func appendText(in scope: TemplateScope, to text: inout String) -> Bool {
        switch root {
        case .triggerBody:
            return appendValue(in: scope.triggerBody, to: &text)
        case .triggerHeaders:
            return appendEntry(of: scope.triggerHeaders, to: &text)
        case .triggerQuery:
            return appendEntry(of: scope.triggerQuery, to: &text)
        case .step(let id):
            guard let output = scope.stepOutputs[id] else { return false }
            return appendValue(in: output, to: &text)
        case .runID:
            guard path.isEmpty else { return false }
            text.append(scope.runID)
            return true
        case .now:
            guard path.isEmpty else { return false }
            text.append(scope.nowText)
            return true
        }
    }

    private func appendValue(in root: JSONValue, to text: inout String) -> Bool {
        guard let value = root[path: path] else { return false }
        value.appendText(to: &text)
        return true
    }

    private func appendEntry(of entries: [String: String], to text: inout String) -> Bool {
        guard path.count == 1 else { return false }
        let name: String
        switch path[0] {
        case .key(let key): name = key
        case .index(let index): name = String(index)
        }
        guard let value = entries[name] else { return false }
        text.append(value)
        return true
    }
}
