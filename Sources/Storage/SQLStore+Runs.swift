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
    /// With replacements, the transaction first takes the write lock, then reads which of them have
    /// a cancellation request (`run_cancellations`): a run written `queued` with one is stored
    /// `cancelled` instead (its ``Flows/RunLifecycle`` decides), so no claim can take it between
    /// a requeue and its cancellation; requests of runs written finished are deleted.
    ///
    /// Runs named in `owners` are checked first, in the same transaction (their rows read after the
    /// write lock on SQLite, locked `FOR UPDATE` on PostgreSQL): one not `running` under its lease
    /// token is left out and reported in ``Flows/RunWriteOutcome/refusedStale``. The transaction
    /// notifies the other instances (PostgreSQL) of the runs it queued and stored.
    ///
    /// JSON is encoded before the transaction takes the connection (a cancelled-instead run's again
    /// inside it: rare).
    @discardableResult
    public func write(inserting newRuns: [Run], updating changed: [Run], owners: [String: String]) async throws -> RunWriteOutcome {
        guard !newRuns.isEmpty || !changed.isEmpty else { return .none }
        let inserted = try newRuns.map(RunColumns.init)
        var lastOfEach: [String: Run] = [:]
        for run in changed { lastOfEach[run.id] = run }
        let written = lastOfEach
        let allReplaced = Self.lastOfEachID(try changed.map(RunColumns.init))
        let dialect = self.dialect
        return try await transaction { session in
            var latest = written
            var replaced = allReplaced
            for chunk in inserted.chunked(by: RunColumns.rowsPerInsert) {
                try await session.raw(RunColumns.insert(chunk)).run()
            }
            if !inserted.isEmpty { try await self.notify(.runsQueued, in: session) }
            guard !replaced.isEmpty else {
                try await self.notifyStored(newRuns, in: session)
                return .none
            }
            var outcome = RunWriteOutcome()
            // SQLite: take the write lock before reading, so the reads and the writes see one state.
            // PostgreSQL: lock the rows instead (below); a cancellation request, a takeover or a
            // lease renewal waits on them, so each is either read here or sees this write.
            if dialect == .sqlite, inserted.isEmpty { try await session.raw("UPDATE runs SET status = status WHERE id = ''").run() }
            if !owners.isEmpty || dialect == .postgresql {
                // Every checked run is stale until its row shows it held by the writer's claim.
                var stale = Set(owners.keys).intersection(replaced.map(\.id))
                for chunk in replaced.chunked(by: RunColumns.idsPerStatement) {
                    let rows = try await session.raw("""
                        SELECT id, status, lease_owner FROM runs WHERE id IN (\(binds: chunk.map(\.id))) ORDER BY id\(dialect.forUpdate)
                        """).all()
                    for row in rows {
                        let stored = StoredRow(row, table: "runs")
                        let status: String = try stored.value("status")
                        let leaseOwner: String? = try stored.optional("lease_owner")
                        let id: String = try stored.value("id")
                        if let owner = owners[id], status == RunStatus.running.rawValue, leaseOwner == owner { stale.remove(id) }
                    }
                }
                // An execution that lost its lease writes nothing: the run is another's now. (A
                // checked run the store does not have stays in `stale`: no one holds it.)
                outcome.refusedStale = stale
                replaced.removeAll { stale.contains($0.id) }
            }
            var requested: Set<String> = []
            for chunk in replaced.chunked(by: RunColumns.idsPerStatement) {
                let rows = try await session.raw("""
                    SELECT run_id FROM run_cancellations WHERE run_id IN (\(binds: chunk.map(\.id)))
                    """).all()
                for row in rows { requested.insert(try StoredRow(row, table: "run_cancellations", idColumn: "run_id").value("run_id")) }
            }
            var rows = replaced
            if !requested.isEmpty {
                for (index, row) in rows.enumerated() where requested.contains(row.id) {
                    guard var run = latest[row.id], run.status.isPending,
                        run.handle(.cancellationObserved, now: Date()) == .save
                    else { continue }
                    rows[index] = try RunColumns(run)
                    latest[row.id] = run
                    outcome.cancelledInstead[row.id] = run
                }
            }
            for chunk in rows.chunked(by: RunColumns.rowsPerInsert) {
                try await session.raw(RunColumns.upsert(chunk)).run()
            }
            let answered = requested.filter { latest[$0]?.isFinished == true }
            if !answered.isEmpty {
                try await session.raw("DELETE FROM run_cancellations WHERE run_id IN (\(binds: Array(answered)))").run()
            }
            outcome.cancellationRequested = requested.subtracting(answered)
            try await self.notifyStored(newRuns + rows.compactMap { latest[$0.id] }, in: session)
            return outcome
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
            // One statement: the first fire inserts, a later one advances, an earlier or equal one
            // (another instance fired it) returns no row — never a unique violation in a race.
            let advanced = try await session.raw("""
                INSERT INTO cron_fires (flow_id, last_due_at) VALUES (\(bind: flowID), \(bind: due))
                ON CONFLICT (flow_id) DO UPDATE SET last_due_at = excluded.last_due_at
                WHERE cron_fires.last_due_at < excluded.last_due_at
                RETURNING flow_id
                """).all()
            guard !advanced.isEmpty else { return false }
            try await session.raw(RunColumns.insert(CollectionOfOne(columns))).run()
            try await self.notify(.runsQueued, in: session)
            try await self.notifyStored(CollectionOfOne(run), in: session)
            return true
        }
    }

    /// Takes due queued runs for a worker, fairly across workspaces (see ``Flows/RunClaim``),
    /// marking them running under its owner until its lease ends; a run keeps the start time of
    /// its first attempt, and counts the start (`starts_without_progress`).
    ///
    /// Cheap whatever the length of the queue, through the claim index (`status, workspace_id,
    /// not_before, created_at, id`): a skip-ahead over the workspaces with queued runs; when one
    /// workspace is waiting (the common case) a single `UPDATE … WHERE id IN (SELECT … LIMIT share)
    /// RETURNING`; when several are, one short index range per workspace, a round-robin choice, and
    /// an `UPDATE` of the chosen. (A window over every due run sorted the whole backlog at every
    /// claim and cost half the throughput under webhook load.) Each `UPDATE` is conditional on the
    /// run still being queued, so two claimers (tasks, or processes on one file) never take the
    /// same run; the PostgreSQL port adds `FOR UPDATE SKIP LOCKED` to the reads.
    /// The workspaces with a queued or waiting run, read as a loose index scan: one seek on
    /// `(status, workspace_id, …)` per workspace and status, however long the queue. (`SELECT
    /// DISTINCT` read every pending run's index entry, at every claim: a millisecond and growing
    /// with a webhook backlog, on the connection every send and acknowledgement shares.)
    static let pendingWorkspaces: SQLQueryString = """
        WITH RECURSIVE queued(id) AS (
            SELECT (SELECT min(workspace_id) FROM runs WHERE status = \(bind: RunStatus.queued.rawValue))
            UNION ALL
            SELECT (SELECT min(workspace_id) FROM runs WHERE status = \(bind: RunStatus.queued.rawValue) AND workspace_id > queued.id)
            FROM queued WHERE queued.id IS NOT NULL
        ), waiting(id) AS (
            SELECT (SELECT min(workspace_id) FROM runs WHERE status = \(bind: RunStatus.waiting.rawValue))
            UNION ALL
            SELECT (SELECT min(workspace_id) FROM runs WHERE status = \(bind: RunStatus.waiting.rawValue) AND workspace_id > waiting.id)
            FROM waiting WHERE waiting.id IS NOT NULL
        )
        SELECT id AS workspace_id FROM queued WHERE id IS NOT NULL
        UNION SELECT id AS workspace_id FROM waiting WHERE id IS NOT NULL
        """

    public func claim(_ request: RunClaim) async throws -> [Run] {
        guard request.limit > 0 else { return [] }
        let nowMs = request.now.millisecondsSince1970
        let pending: SQLQueryString = "status IN (\(bind: RunStatus.queued.rawValue), \(bind: RunStatus.waiting.rawValue))"
        let workspaces = try await database.raw(Self.pendingWorkspaces).all()
            .map { row throws(StorageError) -> String in try StoredRow(row, table: "runs", idColumn: "workspace_id").value("workspace_id") }
            .filter { request.share(of: $0) > 0 }
        let chosen: [String]
        switch workspaces.count {
        case 0:
            return []
        case 1:
            return try await markRunning(
                picking: """
                    SELECT id FROM runs WHERE \(pending) AND workspace_id = \(bind: workspaces[0]) \
                    AND not_before <= \(bind: nowMs) ORDER BY not_before, created_at, id LIMIT \(bind: request.share(of: workspaces[0]))\(dialect.skipLocked)
                    """,
                request: request)
        default:
            var order: [(first: (Int64, Int64, String), workspaceID: String, due: [String])] = []
            for workspaceID in workspaces {
                let due = try await database.raw("""
                    SELECT id, not_before, created_at FROM runs
                    WHERE \(pending) AND workspace_id = \(bind: workspaceID) AND not_before <= \(bind: nowMs)
                    ORDER BY not_before, created_at, id LIMIT \(bind: request.share(of: workspaceID))
                    """).all()
                guard let first = due.first else { continue }
                let stored = StoredRow(first, table: "runs")
                order.append((
                    (try stored.value("not_before"), try stored.value("created_at"), try stored.value("id")), workspaceID,
                    try due.map { row throws(StorageError) in try StoredRow(row, table: "runs").value("id") }))
            }
            // Workspaces in the order of their first due run.
            order.sort { $0.first < $1.first }
            chosen = request.choose(order.map { ($0.workspaceID, $0.due) })
        }
        guard !chosen.isEmpty else { return [] }
        var claimed: [Run] = []
        for chunk in chosen.chunked(by: RunColumns.idsPerStatement) {
            claimed += try await markRunning(ids: "\(binds: Array(chunk))", request: request)
        }
        // RETURNING gives no order: keep the round-robin order.
        let position = Dictionary(uniqueKeysWithValues: chosen.enumerated().map { ($1, $0) })
        return claimed.sorted { position[$0.id]! < position[$1.id]! }
    }

    /// Marks running for the claim the queued runs that `picking` selects (a `SELECT id …`, run
    /// once: see ``picked(by:)``) or the `ids` (a list of binds); the runs, oldest first by
    /// `(not_before, created_at, id)`.
    private func markRunning(picking: SQLQueryString? = nil, ids: SQLQueryString = "SELECT id FROM picked", request: RunClaim) async throws -> [Run] {
        let nowMs = request.now.millisecondsSince1970
        let rows = try await database.raw("""
            \(picking.map(Self.picked(by:)) ?? "")UPDATE runs SET status = \(bind: RunStatus.running.rawValue), lease_owner = \(bind: request.owner), \
            lease_expires_at = \(bind: request.leaseUntil.millisecondsSince1970), started_at = COALESCE(started_at, \(bind: nowMs)), \
            starts_without_progress = starts_without_progress + 1
            WHERE id IN (\(ids)) AND status IN (\(bind: RunStatus.queued.rawValue), \(bind: RunStatus.waiting.rawValue))
            RETURNING \(RunColumns.all)
            """).all()
        return try rows.map(RunColumns.run(from:))
            .sorted { ($0.notBefore, $0.createdAt, $0.id) < ($1.notBefore, $1.createdAt, $1.id) }
    }

    /// Cancels a queued run at once, or stores a request for a running one (see
    /// ``Flows/RunStore/requestCancellation(runID:workspaceID:now:)``).
    ///
    /// The run's new state comes from its ``Flows/RunLifecycle``; the write is conditional on the
    /// status the decision was made from, in one transaction that writes first, so a claim or an
    /// end that happens at the same moment is either seen or wins, never lost.
    public func requestCancellation(runID: String, workspaceID: String, now: Date) async throws -> RunCancellation? {
        let dialect = self.dialect
        return try await transaction { session in
            try await session.raw("UPDATE runs SET status = status WHERE id = ''").run()
            guard var run = try await session.raw("""
                SELECT \(RunColumns.all) FROM runs WHERE id = \(bind: runID) AND workspace_id = \(bind: workspaceID)\(dialect.forUpdate)
                """).first().map(RunColumns.run(from:))
            else { return nil }
            switch run.handle(.cancelRequested, now: now) {
            case .save:
                let columns = try RunColumns(run)
                try await session.raw(RunColumns.upsert(CollectionOfOne(columns))).run()
                try await self.notifyStored(CollectionOfOne(run), in: session)
                return .cancelled(run)
            case .requestCancellation:
                try await session.raw("""
                    INSERT INTO run_cancellations (run_id, requested_at) VALUES (\(bind: runID), \(bind: now.millisecondsSince1970))
                    ON CONFLICT (run_id) DO NOTHING
                    """).run()
                return .requested(run)
            case .refuseFinished, .ignore:
                return .alreadyFinished(run)
            }
        }
    }

    /// Extends the leases of the worker's running runs in one `UPDATE` (never shortening one),
    /// skipping rows locked at that moment (PostgreSQL): a row is locked by a transaction writing
    /// it, which checks the lease itself — and one held by a frozen instance's open transaction
    /// must not hold up the renewal of every other run (it did: the live instance's leases ran out
    /// behind it and it took its own runs over).
    public func renewLeases(workerID: String, until: Date) async throws -> Set<String> {
        let untilMs = until.millisecondsSince1970
        let prefix = LeaseToken.prefix(of: workerID)
        let mine: SQLQueryString = """
            status = \(bind: RunStatus.running.rawValue) AND substr(lease_owner, 1, CAST(\(bind: prefix.utf8.count) AS INTEGER)) = \(bind: prefix)
            """
        let rows = try await leaseDatabase.raw("""
            \(Self.picked(by: "SELECT id FROM runs WHERE \(mine)\(dialect.skipLocked)"))\
            UPDATE runs SET lease_expires_at = CASE WHEN lease_expires_at > \(bind: untilMs) THEN lease_expires_at ELSE \(bind: untilMs) END
            WHERE id IN (SELECT id FROM picked) AND \(mine)
            RETURNING id
            """).all()
        return Set(try rows.map { row throws(StorageError) -> String in try StoredRow(row, table: "runs").value("id") })
    }

    /// Takes over running runs whose lease expired by `expiredBy` (or that have none), by id, in
    /// one `UPDATE` whose subquery skips rows another instance is taking over (PostgreSQL); the
    /// condition is checked again by the `UPDATE` itself, so a run renewed meanwhile stays its
    /// owner's.
    public func takeOver(owner: String, expiredBy: Date, leaseUntil: Date, limit: Int) async throws -> [Run] {
        guard limit > 0 else { return [] }
        let expired: SQLQueryString = """
            status = \(bind: RunStatus.running.rawValue) \
            AND (lease_expires_at IS NULL OR lease_expires_at <= \(bind: expiredBy.millisecondsSince1970))
            """
        let rows = try await leaseDatabase.raw("""
            \(Self.picked(by: "SELECT id FROM runs WHERE \(expired) ORDER BY id LIMIT \(bind: limit)\(dialect.skipLocked)"))\
            UPDATE runs SET lease_owner = \(bind: owner), lease_expires_at = \(bind: leaseUntil.millisecondsSince1970)
            WHERE id IN (SELECT id FROM picked) AND \(expired)
            RETURNING \(RunColumns.all)
            """).all()
        return try rows.map(RunColumns.run(from:)).sorted { $0.id < $1.id }
    }

    /// `WITH picked AS MATERIALIZED (select) `: the rows an `UPDATE` is to change, chosen once.
    /// Written inline as `WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`, PostgreSQL may
    /// evaluate the subquery again for the outer rows, and the `UPDATE` then changes more than `n`
    /// (seen: a takeover of limit 2 took 3).
    private static func picked(by select: SQLQueryString) -> SQLQueryString {
        "WITH picked AS MATERIALIZED (\(select)) "
    }

    /// The run `id` of `workspaceID`; `nil` if it belongs to another workspace.
    public func run(id: String, workspaceID: String) async throws -> Run? {
        guard var run = try await database.raw("""
            SELECT \(RunColumns.all) FROM runs WHERE id = \(bind: id) AND workspace_id = \(bind: workspaceID)
            """).first().map(RunColumns.run(from:))
        else { return nil }
        let rows = try await database.raw("""
            SELECT step_id, recipient, status, code, diagnostic, at FROM step_deliveries WHERE run_id = \(bind: id)
            """).all()
        var byStep: [String: [StepRecord.Delivery]] = [:]
        for row in rows {
            let stored = StoredRow(row, table: "step_deliveries", idColumn: "step_id")
            byStep[try stored.value("step_id"), default: []].append(StepRecord.Delivery(
                status: try stored.value("status"), recipient: try stored.value("recipient"), code: try stored.optional("code"),
                diagnostic: try stored.optional("diagnostic"), at: try stored.date("at")))
        }
        for (stepID, recorded) in byStep {
            guard let index = run.steps.firstIndex(where: { $0.stepID == stepID }) else { continue }
            run.steps[index].delivery = StepRecord.Delivery.merged(run.steps[index].delivery, with: recorded)
        }
        return run
    }

    /// Stores the key and the run in one transaction; a key already stored (by a request that
    /// committed first — PostgreSQL makes a racing insert wait for it) stores nothing.
    public func insertRun(_ run: Run, idempotencyKey key: IdempotencyKey) async throws -> IdempotentInsert {
        let columns = try RunColumns(run)
        return try await transaction { session in
            let claimed = try await session.raw("""
                INSERT INTO idempotency_keys (flow_id, idempotency_key, body_sha256, run_id, created_at)
                VALUES (\(bind: run.flowID), \(bind: key.key), \(bind: key.bodyDigest), \(bind: run.id), \(bind: key.createdAt.millisecondsSince1970))
                ON CONFLICT (flow_id, idempotency_key) DO NOTHING
                RETURNING run_id
                """).all()
            if !claimed.isEmpty {
                try await session.raw(RunColumns.insert(CollectionOfOne(columns))).run()
                try await self.notify(.runsQueued, in: session)
                try await self.notifyStored(CollectionOfOne(run), in: session)
                return .inserted
            }
            guard let row = try await session.raw("""
                SELECT body_sha256, run_id FROM idempotency_keys
                WHERE flow_id = \(bind: run.flowID) AND idempotency_key = \(bind: key.key)
                """).first()
            else { return .conflict }
            let stored = StoredRow(row, table: "idempotency_keys", idColumn: "run_id")
            let digest: String = try stored.value("body_sha256")
            return digest == key.bodyDigest ? .replayed(runID: try stored.value("run_id")) : .conflict
        }
    }

    /// Deletes idempotency keys made before `cutoff` (by the `created_at` index).
    public func deleteIdempotencyKeys(before cutoff: Date) async throws -> Int {
        try await database.raw("""
            DELETE FROM idempotency_keys WHERE created_at < \(bind: cutoff.millisecondsSince1970) RETURNING flow_id
            """).all().count
    }

    /// Upserts the deliveries (`step_deliveries`) and inserts the runs they start, in one
    /// transaction; the run's own row is not touched.
    public func recordDeliveries(_ deliveries: [StepRecord.Delivery], runID: String, stepID: String, inserting starting: [Run]) async throws {
        let inserted = try starting.map(RunColumns.init)
        try await transaction { session in
            for delivery in deliveries {
                try await session.raw("""
                    INSERT INTO step_deliveries (run_id, step_id, recipient_key, recipient, status, code, diagnostic, at)
                    VALUES (\(bind: runID), \(bind: stepID), \(bind: delivery.recipient.lowercased()), \(bind: delivery.recipient),
                            \(bind: delivery.status), \(bind: delivery.code), \(bind: delivery.diagnostic), \(bind: delivery.at.millisecondsSince1970))
                    ON CONFLICT (run_id, step_id, recipient_key) DO UPDATE SET recipient = excluded.recipient, status = excluded.status,
                        code = excluded.code, diagnostic = excluded.diagnostic, at = excluded.at
                    """).run()
            }
            for chunk in inserted.chunked(by: RunColumns.rowsPerInsert) {
                try await session.raw(RunColumns.insert(chunk)).run()
            }
            if !inserted.isEmpty {
                try await self.notify(.runsQueued, in: session)
                try await self.notifyStored(starting, in: session)
            }
        }
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

    /// A page by position in the same order, and how many runs match. Both read in one
    /// transaction, so the count and the page agree.
    public func runs(
        workspaceID: String, flowID: String?, status: RunStatus?, limit: Int, offset: Int
    ) async throws -> (runs: [Run], total: Int) {
        var filter: SQLQueryString = "workspace_id = \(bind: workspaceID)"
        if let flowID { filter += " AND flow_id = \(bind: flowID)" }
        if let status { filter += " AND status = \(bind: status.rawValue)" }
        let condition = filter
        return try await transaction { session in
            let count = try await session.raw("SELECT COUNT(*) AS total FROM runs WHERE \(condition)").first()
            let total = try count.map { row throws(StorageError) in try StoredRow(row, table: "runs").value("total", as: Int64.self) } ?? 0
            guard limit > 0, offset < total else { return ([], Int(total)) }
            let rows = try await session.raw("""
                SELECT \(RunColumns.all) FROM runs WHERE \(condition)
                ORDER BY created_at DESC, id DESC LIMIT \(bind: limit) OFFSET \(bind: offset)
                """).all()
            return (try rows.map(RunColumns.run(from:)), Int(total))
        }
    }

    /// The newest run of each flow: one indexed look per flow (`runs_flow_history`), reading
    /// only the columns a list shows.
    public func latestRuns(workspaceID: String, flowIDs: [String]) async throws -> [String: RunBrief] {
        var latest: [String: RunBrief] = [:]
        for flowID in flowIDs {
            guard let row = try await database.raw("""
                SELECT id, status, created_at, finished_at FROM runs
                WHERE workspace_id = \(bind: workspaceID) AND flow_id = \(bind: flowID)
                ORDER BY created_at DESC, id DESC LIMIT 1
                """).first()
            else { continue }
            let stored = StoredRow(row, table: "runs")
            latest[flowID] = RunBrief(
                id: try stored.value("id"), status: try stored.rawValue("status"), createdAt: try stored.date("created_at"),
                finishedAt: try stored.optionalDate("finished_at"))
        }
        return latest
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
            if deleted < Self.retentionChunk {
                // Requests whose run is gone (deleted here, or never written finished).
                try await database.raw("""
                    DELETE FROM run_cancellations WHERE NOT EXISTS (
                        SELECT 1 FROM runs WHERE runs.id = run_cancellations.run_id AND runs.status = \(bind: RunStatus.running.rawValue))
                    """).run()
                // Deliveries of runs that are gone.
                try await database.raw("""
                    DELETE FROM step_deliveries WHERE NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = step_deliveries.run_id)
                    """).run()
                return total
            }
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
    func chunked(by size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
