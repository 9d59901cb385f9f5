extension Vault: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `Vault(active: <id>, keys: <count>)`: ids only, never key bytes.
    public var description: String { "Vault(active: \(keyRing.active.id), keys: \(keyRing.keys.count))" }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// A mirror holding only the key ring (itself redacted), hiding the fingerprint subkey.
    public var customMirror: Mirror { Mirror(self, children: ["keyRing": keyRing], displayStyle: .struct) }
}
