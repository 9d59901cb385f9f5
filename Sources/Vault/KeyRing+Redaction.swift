extension KeyRing: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `KeyRing(active: <id>, keys: [<id>, …])`: ids only, never key bytes.
    public var description: String {
        "KeyRing(active: \(active.id), keys: [\(keys.map(\.id).joined(separator: ", "))])"
    }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// A mirror holding only ids, so `dump` and reflection never reach key bytes.
    public var customMirror: Mirror {
        Mirror(self, children: ["active": active.id, "keys": keys.map(\.id)], displayStyle: .struct)
    }
}
