import Crypto
import Foundation
import Synchronization

/// Remembers the provider calls already taken in, each for as long as its signature stays
/// acceptable (after that the signature check refuses it anyway), so that a captured call sent
/// again changes nothing. A call is *reserved* before it is applied and *released* if applying
/// fails, so two copies racing cannot both pass and a failed call can be retried.
///
/// Per process: calls are signed with a timestamp, so a restart opens at most one window.
final class IntakeReplayGuard: Sendable {
    /// The most calls remembered; past it, the ones expiring first are forgotten first.
    static let capacity = 100_000

    private let seen = Mutex<[SHA256.Digest: ContinuousClock.Instant]>([:])
    private let clock = ContinuousClock()

    /// `false` when the call was already taken in (or is being taken in) within its window.
    func reserve(_ key: String, window: Duration) -> Bool {
        let digest = SHA256.hash(data: Data(key.utf8))
        let now = clock.now
        return seen.withLock { seen in
            if let until = seen[digest], until > now { return false }
            if seen.count >= Self.capacity {
                seen = seen.filter { $0.value > now }
                if seen.count >= Self.capacity, let first = seen.min(by: { $0.value < $1.value }) { seen[first.key] = nil }
            }
            seen[digest] = now + window
            return true
        }
    }

    /// Forgets a reserved call whose applying failed, so the provider's retry is taken in.
    func release(_ key: String) {
        let digest = SHA256.hash(data: Data(key.utf8))
        _ = seen.withLock { $0.removeValue(forKey: digest) }
    }
}
