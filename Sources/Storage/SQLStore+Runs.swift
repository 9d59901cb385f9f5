public import Flows
public import Foundation
import SQLKit

extension SQLStore: RunStore {
    /// Inserts `newRuns` and replaces `changed` (each by id, the whole row) in one transaction,
    /// so a group commit of any size costs one commit.
    ///
    /// Inserts are multi-row `INSERT`s of up to ``RunColumns/rowsPerInsert`` rows. A replacement
    /// deletes the old rows by id and inserts the new ones, two statements per chunk rather than
    /// one `UPDATE` per run; like ``Flows/InMemoryRunStore`` it stores a run the store no longer
    /// has, and when one run appears several times in `changed` the last one wins. An id in
    /// `newRuns` that is already stored (ids are random, so never in practice) fails the whole
    /// batch with the engine's constraint error rather than overwrite another run.
    ///
    /// JSON is encoded before the transaction takes the connection.
    public func write(inserting newRuns: [Run], updating changed: [Run]) async throws {
        guard !newRuns.isEmpty || !changed.isEmpty else { return }
        let inserted = try newRuns.map(RunColumns.init)
        let replaced = Self.lastOfEachID(try changed.map(RunColumns.init))
        try await transaction { session in
            for chunk in inserted.chunked(by: RunColumns.rowsPerInsert) {
                try await session.raw(RunColumns.insert(chunk)).run()
            }
            for chunk in replaced.chunked(by: RunColumns.idsPerStatement) {
                try await session.raw("DELETE FROM runs WHERE id IN (\(binds: chunk.map(\.id)))").run()
            }
            for chunk in replaced.chunked(by: RunColumns.rowsPerInsert) {
                try await session.raw(RunColumns.insert(chunk)).run()
            }
        }
    }

    /// Records that `flowID` fired for `dueAt` and stores its run, in one transaction, only if
    /// `dueAt` is later than the flow's last fire.
    ///
    /// The first statement writes, so SQLite takes its write lock at once (waiting out another
    /// process's writer under the busy timeout) and the check that follows cannot race. The
    /// PostgreSQL port would write the first fire as `INSERT … ON CONFLICT DO NOTHING` instead, as
    /// two instances can both find no row there. The flow must exist (the foreign key refuses a
    /// fire of a deleted flow with the engine's constraint error).
    ///
    /// - Returns: `false` if the flow already fired for `dueAt` or later; nothing is stored then.
    public func enqueueCronFire(_ run: Run, flowID: String, dueAt: Date) async throws -> Bool {
        let columns = try RunColumns(run)
        let due = dueAt.millisecondsSince1970
        return try await transaction { session in
            let advanced = try await session.raw("""
                UPDATE cron_fires SET last_due_at = \(bind: due)
                WHERE flow_id = \(bind: flowID) AND last_due_at < \(bind: due)
                RETURNING flow_id
                """).all()
            if advanced.isEmpty {
                let stored = try await session.raw("SELECT flow_id FROM cron_fires WHERE flow_id = \(bind: flowID)").first()
                guard stored == nil else { return false }
                try await session.raw("INSERT INTO cron_fires (flow_id, last_due_at) VALUES (\(bind: flowID), \(bind: due))").run()
            }
            try await session.raw(RunColumns.insert(CollectionOfOne(columns))).run()
            return true
        }
    }

    /// Takes up to `limit` queued runs due by `now`, oldest first by `(not_before, created_at,
    /// id)`, marking them running under `owner` until `leaseUntil`; a run keeps the start time of
    /// its first attempt.
    ///
    /// One `UPDATE … WHERE id IN (SELECT … LIMIT) RETURNING` statement: the choice and the marking
    /// are atomic, so two claims (tasks, or processes on one file) never return the same run.
    /// `RETURNING` gives no order, so the runs are sorted here.
    public func claim(limit: Int, owner: String, now: Date, leaseUntil: Date) async throws -> [Run] {
        guard limit > 0 else { return [] }
        let nowMs = now.millisecondsSince1970
        // PostgreSQL: the subquery gets `FOR UPDATE SKIP LOCKED`, so concurrent claims skip each
        // other's rows instead of waiting for them and then finding them no longer queued.
        let rows = try await database.raw("""
            UPDATE runs SET status = \(bind: RunStatus.running.rawValue), lease_owner = \(bind: owner), \
            lease_expires_at = \(bind: leaseUntil.millisecondsSince1970), started_at = COALESCE(started_at, \(bind: nowMs))
            WHERE id IN (
                SELECT id FROM runs WHERE status = \(bind: RunStatus.queued.rawValue) AND not_before <= \(bind: nowMs)
                ORDER BY not_before, created_at, id
                LIMIT \(bind: limit)
            )
            RETURNING \(RunColumns.all)
            """).all()
        return try rows.map(RunColumns.run(from:))
            .sorted { ($0.notBefore, $0.createdAt, $0.id) < ($1.notBefore, $1.createdAt, $1.id) }
    }

    /// Running runs whose lease expired by `now` (or that have none), by id.
    public func abandoned(now: Date) async throws -> [Run] {
        try await allRuns("""
            SELECT \(RunColumns.all) FROM runs
            WHERE status = \(bind: RunStatus.running.rawValue)
            AND (lease_expires_at IS NULL OR lease_expires_at <= \(bind: now.millisecondsSince1970))
            ORDER BY id
            """)
    }

    /// The run `id` of `workspaceID`; `nil` if it belongs to another workspace.
    public func run(id: String, workspaceID: String) async throws -> Run? {
        try await database.raw("""
            SELECT \(RunColumns.all) FROM runs WHERE id = \(bind: id) AND workspace_id = \(bind: workspaceID)
            """).first().map(RunColumns.run(from:))
    }

    /// A page of a workspace's runs, newest first by `(created_at, id)`, optionally of one flow and
    /// one status, strictly before `cursor`.
    public func runs(
        workspaceID: String, flowID: String?, status: RunStatus?, limit: Int, before cursor: RunCursor?
    ) async throws -> [Run] {
        guard limit > 0 else { return [] }
        var query: SQLQueryString = "SELECT \(RunColumns.all) FROM runs WHERE workspace_id = \(bind: workspaceID)"
        if let flowID {
            query += " AND flow_id = \(bind: flowID)"
        }
        if let status {
            query += " AND status = \(bind: status.rawValue)"
        }
        if let cursor {
            let createdAt = cursor.createdAt.millisecondsSince1970
            query += " AND (created_at < \(bind: createdAt) OR (created_at = \(bind: createdAt) AND id < \(bind: cursor.id)))"
        }
        query += " ORDER BY created_at DESC, id DESC LIMIT \(bind: limit)"
        return try await allRuns(query)
    }

    /// Deletes the finished runs that ended (or, without an end time, were created) before
    /// `cutoff`; returns how many.
    ///
    /// In statements of ``retentionChunk`` runs each, each its own commit: a retention pass over a
    /// busy history then neither holds the write lock for long (the group commit waits behind it)
    /// nor returns millions of rows at once. A pass cut short by an error has still deleted what it
    /// counted so far; the next pass deletes the rest.
    public func deleteFinishedRuns(before cutoff: Date) async throws -> Int {
        let terminal = RunStatus.allCases.filter(\.isTerminal).map(\.rawValue)
        var total = 0
        while true {
            let deleted = try await database.raw("""
                DELETE FROM runs WHERE id IN (
                    SELECT id FROM runs
                    WHERE status IN (\(binds: terminal)) AND COALESCE(finished_at, created_at) < \(bind: cutoff.millisecondsSince1970)
                    LIMIT \(bind: Self.retentionChunk)
                )
                RETURNING id
                """).all().count
            total += deleted
            if deleted < Self.retentionChunk { return total }
        }
    }

    /// How many runs one retention statement deletes at most.
    static let retentionChunk = 1_000

    /// How many runs have each status; a status without runs is absent.
    public func countByStatus() async throws -> [RunStatus: Int] {
        let rows = try await database.raw("SELECT status, COUNT(*) AS runs FROM runs GROUP BY status").all()
        var counts: [RunStatus: Int] = [:]
        for row in rows {
            let stored = StoredRow(row, table: "runs", idColumn: "status")
            counts[try stored.rawValue("status", as: RunStatus.self)] = Int(try stored.value("runs", as: Int64.self))
        }
        return counts
    }

    // MARK: - Helpers

    private func allRuns(_ query: SQLQueryString) async throws -> [Run] {
        try await database.raw(query).all().map(RunColumns.run(from:))
    }

    /// `rows` with only the last row of each id, in the order of those last rows.
    private static func lastOfEachID(_ rows: [RunColumns]) -> [RunColumns] {
        var seen = Set<String>()
        var kept: [RunColumns] = []
        for row in rows.reversed() where seen.insert(row.id).inserted {
            kept.append(row)
        }
        return kept.reversed()
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    fileprivate func chunked(by size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
