// MARK: - Printing

// A value interpolated into a log line or an error message, `dump`ed, or printed by a test failure
// reads as compact JSON. Without these conformances Swift would reflect the enum and print every
// element of a ``JSONValue/bytes(_:)`` payload (a whole downloaded file, byte by byte).

extension JSONValue: CustomStringConvertible {
    /// ``compactJSON``: binary data as its summary, never its content.
    public var description: String {
        compactJSON
    }
}

extension JSONValue: CustomDebugStringConvertible {
    /// ``compactJSON``, as for ``description``.
    public var debugDescription: String {
        compactJSON
    }
}

extension JSONValue: CustomReflectable {
    /// A leaf without children, so `dump` and reflection print ``debugDescription`` rather than
    /// walking into the payload.
    public var customMirror: Mirror {
        Mirror(self, children: [])
    }
}
