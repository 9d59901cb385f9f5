import Secrets
import Crypto
import Flows
import Foundation
import Workspaces

/// Remembers the provider calls already taken in, each for as long as its signature stays
/// acceptable (after that the signature check refuses it anyway), so that a captured call sent
/// again changes nothing. A call is *reserved* before it is applied and *released* if applying
/// fails, so two copies racing cannot both pass and a failed call can be retried.
///
/// Kept in the database (``Workspaces/ReplayStore``): instances sharing it refuse each other's
/// replays too. Calls are remembered by the SHA-256 of their key, never the key itself.
struct IntakeReplayGuard: Sendable {
    let store: any ReplayStore
    let now: @Sendable () -> Date

    /// `false` when the call was already taken in (or is being taken in) within its window.
    func reserve(_ key: String, window: Duration) async throws -> Bool {
        let now = now()
        return try await store.reserveReplay(digest: Self.digest(key), until: now.addingTimeInterval(window.timeInterval), now: now)
    }

    /// Forgets a reserved call whose applying failed, so the provider's retry is taken in.
    func release(_ key: String) async {
        try? await store.releaseReplay(digest: Self.digest(key))
    }

    static func digest(_ key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).hexString
    }
}
