import Synchronization

/// A bounded key → value cache that a change invalidates as a whole, safe against loads in flight:
/// a load that read its source before an invalidation does not store its (stale) result after it.
/// Misses are not cached (a value created elsewhere is found on its first lookup); when full it
/// starts over.
public final class InvalidatingCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var values: [Key: Value] = [:]
    }

    private let state = Mutex(State())
    private let capacity: Int

    /// A cache of at most `capacity` values.
    public init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    /// The value for `key`, from the cache or else from `load` (a `nil` is not cached).
    public func value(for key: Key, load: () async throws -> Value?) async rethrows -> Value? {
        let (cached, generation) = state.withLock { ($0.values[key], $0.generation) }
        if let cached { return cached }
        guard let value = try await load() else { return nil }
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.values.count >= capacity { state.values.removeAll(keepingCapacity: true) }
            state.values[key] = value
        }
        return value
    }

    /// Forgets every value; call after the source changed (and the change is committed).
    public func invalidate() {
        state.withLock { state in
            state.generation &+= 1
            state.values.removeAll(keepingCapacity: true)
        }
    }
}
