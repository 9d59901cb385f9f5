// MARK: - Path lookup

extension JSONValue {
    /// The value at `path`, or `nil` when any step is missing: a key absent from an object, an
    /// index past the end of an array, or any step into a string, number, bool, null or bytes.
    ///
    /// ```swift
    /// body[path: [.key("items"), .index(0), .key("email")]]
    /// ```
    public subscript(path path: [JSONPathComponent]) -> JSONValue? {
        var current = self
        for component in path {
            guard let next = current.child(component) else { return nil }
            current = next
        }
        return current
    }

    /// One step down, or `nil`.
    func child(_ component: JSONPathComponent) -> JSONValue? {
        switch (self, component) {
        case let (.object(members), .key(key)):
            members[key]
        case let (.object(members), .index(index)):
            members[String(index)]
        case let (.array(elements), .index(index)):
            elements.indices.contains(index) ? elements[index] : nil
        case (.array, .key), (.null, _), (.bool, _), (.integer, _), (.number, _), (.string, _), (.bytes, _):
            nil
        }
    }
}
