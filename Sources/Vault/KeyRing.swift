/// The master keys a vault can open with, one of them active for sealing.
///
/// Rotation is: add a new key as active (``adding(_:makeActive:)``), reseal every stored secret
/// (``Vault/reseal(_:context:)``), then drop the old keys (``retainingOnlyActive()``). Until the
/// last step, secrets sealed under any key in the ring still open.
public struct KeyRing: Sendable {
    /// In the order given; ids are unique.
    public let keys: [MasterKey]
    /// Index of the active key in ``keys``; always valid.
    private let activeIndex: Int

    /// A ring of `keys` sealing with the key whose id is `activeID`.
    ///
    /// - Throws: ``VaultError/invalidKey(reason:)`` if `keys` is empty, two keys share an id, or
    ///   no key has `activeID`.
    public init(keys: [MasterKey], activeID: String) throws(VaultError) {
        var seen: Set<String> = []
        for key in keys where !seen.insert(key.id).inserted {
            throw .invalidKey(reason: "key \(key.id) appears more than once in the key ring")
        }
        guard let activeIndex = keys.firstIndex(where: { $0.id == activeID }) else {
            throw .invalidKey(reason: "the active key \(activeID) is not in the key ring")
        }
        self.keys = keys
        self.activeIndex = activeIndex
    }

    /// A ring holding only `key`, active.
    public init(single key: MasterKey) {
        self.keys = [key]
        self.activeIndex = 0
    }

    /// The key every new seal uses.
    public var active: MasterKey { keys[activeIndex] }

    /// The key with `id`, if the ring holds it.
    public func key(id: String) -> MasterKey? {
        keys.first { $0.id == id }
    }

    /// This ring with `key` appended (or, if the ring already holds a key with its id, unchanged
    /// apart from the active choice), active when `makeActive` is true.
    public func adding(_ key: MasterKey, makeActive: Bool) -> KeyRing {
        var keys = keys
        let index = keys.firstIndex { $0.id == key.id } ?? {
            keys.append(key)
            return keys.count - 1
        }()
        return KeyRing(keys: keys, activeIndex: makeActive ? index : activeIndex)
    }

    /// A ring holding only the active key: the last step of a rotation, once every secret has
    /// been resealed.
    public func retainingOnlyActive() -> KeyRing {
        KeyRing(single: active)
    }

    private init(keys: [MasterKey], activeIndex: Int) {
        self.keys = keys
        self.activeIndex = activeIndex
    }
}
