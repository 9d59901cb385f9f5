public import Foundation

/// A workspace's suppression list: what later sends leave out of the envelope.
public struct SuppressionService: Sendable {
    private let store: any SuppressionStore
    private let now: @Sendable () -> Date

    /// The most a list answer holds.
    public static let listLimit = 1_000

    public init(store: any SuppressionStore, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.now = now
    }

    /// The workspace's suppressions, newest first.
    public func list(in workspaceID: String, limit: Int = SuppressionService.listLimit) async throws -> [Suppression] {
        try await store.suppressions(workspaceID: workspaceID, limit: min(max(limit, 1), Self.listLimit))
    }

    /// Suppresses `address` (an addr-spec: one `@`, no spaces or control characters, at most 254
    /// characters). Returns the suppression and whether it is new (an address already listed keeps
    /// its first reason).
    @discardableResult
    public func add(_ address: String, reason: Suppression.Reason, detail: String? = nil, in workspaceID: String) async throws -> (Suppression, created: Bool) {
        let normalized = Suppression.normalized(address)
        try Self.check(normalized)
        let suppression = Suppression(
            workspaceID: workspaceID, address: normalized, reason: reason, detail: detail.map { String($0.prefix(500)) }, createdAt: now())
        guard try await store.insertSuppression(suppression) else {
            return (try await store.suppression(address: normalized, workspaceID: workspaceID) ?? suppression, false)
        }
        return (suppression, true)
    }

    /// Removes `address` from the list; ``WorkspaceError`` not found when it is not listed.
    public func remove(_ address: String, in workspaceID: String) async throws {
        guard try await store.deleteSuppression(address: address, workspaceID: workspaceID) else {
            throw WorkspaceError(.notFound, "This address is not suppressed")
        }
    }

    /// Which of `addresses` the workspace suppresses (their ``Suppression/key(of:)``).
    public func suppressed(among addresses: [String], in workspaceID: String) async throws -> Set<String> {
        try await store.suppressedKeys(workspaceID: workspaceID, among: addresses)
    }

    /// An addr-spec as an envelope carries it: `local@domain`, nothing else.
    static func check(_ address: String) throws(WorkspaceError) {
        let at = address.lastIndex(of: "@")
        guard let at, at != address.startIndex, address.index(after: at) != address.endIndex, address.utf8.count <= 254,
            !address.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F || "<>,;\"".unicodeScalars.contains($0) })
        else {
            throw WorkspaceError.invalid("address", "Enter one email address, like ada@example.com")
        }
    }
}
