import Flows
public import Foundation
import SQLKit

/// What one instance tells the others that share its PostgreSQL database, through `NOTIFY` on the
/// schema's channel (see ``PostgresStorage/listen(onNotice:)``). Sent in the transaction of the
/// change, so it arrives only once the change is committed and visible.
///
/// Notices are hints, never the record: an instance that missed some (its listening connection
/// dropped) treats the reconnection as ``everythingMayHaveChanged``, and the executor's slow poll
/// finds due runs whatever happens to notifications.
public enum ClusterNotice: Sendable, Hashable {
    /// Runs were queued: claim now.
    case runsQueued
    /// A flow was created, changed or deleted: forget cached flows, reread schedules.
    case flowsChanged
    /// Runs were stored by the instance `origin`: live listeners of their workspaces refetch them.
    case runsStored(origin: String, runs: [StoredRunReference])
    /// The listening connection was re-established: notices may have been lost meanwhile.
    case everythingMayHaveChanged

    /// A run by workspace and id.
    public struct StoredRunReference: Sendable, Hashable {
        public var workspaceID: String
        public var runID: String

        public init(workspaceID: String, runID: String) {
            self.workspaceID = workspaceID
            self.runID = runID
        }
    }

    /// PostgreSQL refuses a payload of 8,000 bytes or more; references are split below that.
    static let maximumPayloadBytes = 7_000

    /// The payloads that carry this notice: `q`, `f`, or `r <origin> <workspace>/<run> …` (ids
    /// hold no spaces or slashes), split so each stays under ``maximumPayloadBytes``.
    var payloads: [String] {
        switch self {
        case .runsQueued: return ["q"]
        case .flowsChanged: return ["f"]
        case .everythingMayHaveChanged: return []
        case .runsStored(let origin, let runs):
            var payloads: [String] = []
            var current = "r \(origin)"
            let empty = current.utf8.count
            for run in runs {
                let item = " \(run.workspaceID)/\(run.runID)"
                if current.utf8.count + item.utf8.count > Self.maximumPayloadBytes, current.utf8.count > empty {
                    payloads.append(current)
                    current = "r \(origin)"
                }
                current += item
            }
            if current.utf8.count > empty { payloads.append(current) }
            return payloads
        }
    }

    /// Reads a payload sent by ``payloads``; `nil` for anything else (another program's notice on
    /// the channel is ignored, not trusted).
    init?(payload: String) {
        let words = payload.split(separator: " ", omittingEmptySubsequences: false)
        switch words.first {
        case "q" where words.count == 1: self = .runsQueued
        case "f" where words.count == 1: self = .flowsChanged
        case "r" where words.count >= 3 && !words[1].isEmpty:
            var runs: [StoredRunReference] = []
            for word in words.dropFirst(2) {
                let parts = word.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
                runs.append(StoredRunReference(workspaceID: String(parts[0]), runID: String(parts[1])))
            }
            self = .runsStored(origin: String(words[1]), runs: runs)
        default:
            return nil
        }
    }
}

extension SQLStore {
    /// Sends `notice` to the instances sharing the database, in `database`'s transaction when it
    /// is in one (PostgreSQL delivers it at commit, and drops it at rollback). Nothing on SQLite:
    /// one process does the work there.
    func notify(_ notice: ClusterNotice, in database: any SQLDatabase) async throws {
        guard case .postgresql = dialect else { return }
        for payload in notice.payloads {
            try await database.raw("SELECT pg_notify(\(bind: notificationChannel), \(bind: payload))").run()
        }
    }

    /// Tells the others which runs this instance stored (for their live listeners).
    func notifyStored(_ runs: some Collection<Run>, in database: any SQLDatabase) async throws {
        guard case .postgresql = dialect, !runs.isEmpty else { return }
        try await notify(.runsStored(
            origin: origin, runs: runs.map { ClusterNotice.StoredRunReference(workspaceID: $0.workspaceID, runID: $0.id) }), in: database)
    }
}
