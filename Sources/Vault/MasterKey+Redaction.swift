extension MasterKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `MasterKey(<id>)`: the id only, never key bytes.
    public var description: String { "MasterKey(\(id))" }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// A mirror holding only the id, so `dump` and reflection never reach the key bytes.
    public var customMirror: Mirror { Mirror(self, children: ["id": id], displayStyle: .struct) }
}
