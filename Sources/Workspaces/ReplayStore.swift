public import Foundation

/// Where the signed provider calls already taken in are remembered (see the intake's replay
/// guard), shared by every instance on one database: a captured call replayed to another instance
/// is refused there too. SQL in `Storage` (table `intake_replays`), ``InMemoryReplayStore`` for
/// tests.
public protocol ReplayStore: Sendable {
    /// Remembers `digest` until `until`; `false` when it is remembered already (and not expired
    /// by `now`). Two instances racing with one digest: one gets `true`.
    func reserveReplay(digest: String, until: Date, now: Date) async throws -> Bool
    /// Forgets `digest` (its call was not applied, so the provider's retry must be taken in).
    func releaseReplay(digest: String) async throws
    /// Forgets digests that expired before `cutoff`; returns how many.
    func forgetReplays(before cutoff: Date) async throws -> Int
}

/// Replayed-call digests in memory.
public actor InMemoryReplayStore: ReplayStore {
    private var digests: [String: Date] = [:]

    public init() {}

    public func reserveReplay(digest: String, until: Date, now: Date) -> Bool {
        if let expires = digests[digest], expires > now { return false }
        digests[digest] = until
        return true
    }

    public func releaseReplay(digest: String) { digests[digest] = nil }

    public func forgetReplays(before cutoff: Date) -> Int {
        let old = digests.filter { $0.value < cutoff }.keys
        for digest in old { digests[digest] = nil }
        return old.count
    }
}
