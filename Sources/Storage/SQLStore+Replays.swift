public import Foundation
import SQLKit
public import Workspaces

extension SQLStore: ReplayStore {
    /// One statement: a new digest is inserted, an expired one renewed, a live one left alone
    /// (no row returned) — two instances racing with one digest cannot both get `true`.
    public func reserveReplay(digest: String, until: Date, now: Date) async throws -> Bool {
        try await !database.raw("""
            INSERT INTO intake_replays (digest, expires_at) VALUES (\(bind: digest), \(bind: until.millisecondsSince1970))
            ON CONFLICT (digest) DO UPDATE SET expires_at = excluded.expires_at
            WHERE intake_replays.expires_at <= \(bind: now.millisecondsSince1970)
            RETURNING digest
            """).all().isEmpty
    }

    public func releaseReplay(digest: String) async throws {
        try await database.raw("DELETE FROM intake_replays WHERE digest = \(bind: digest)").run()
    }

    public func forgetReplays(before cutoff: Date) async throws -> Int {
        try await database.raw("""
            DELETE FROM intake_replays WHERE expires_at < \(bind: cutoff.millisecondsSince1970) RETURNING digest
            """).all().count
    }
}
