import Flows
import Foundation
import SQLKit

/// How a ``Flows/Run`` maps onto a `runs` row.
///
/// Dates are `BIGINT` milliseconds; the trigger, the step records and the error are JSON text in
/// the shape of their `Codable` conformances (``StoredJSON``). A row's values are computed once,
/// before the write takes the connection, so encoding JSON never holds up other statements.
struct RunColumns: Sendable {
    /// The columns in the order ``values`` binds them: an `INSERT` column list.
    static let names = [
        "id", "workspace_id", "flow_id", "status", "trigger", "steps", "error", "created_at", "started_at",
        "finished_at", "not_before", "lease_owner", "lease_expires_at", "starts_without_progress",
    ]

    /// Every column, for `SELECT` and `RETURNING`; decoding goes by name.
    static let all = SQLQueryString(columnList)

    private static let columnList = names.joined(separator: ", ")

    /// The run's id, for replacing it.
    let id: String
    /// One bound value per column of ``names``.
    let values: [any Encodable & Sendable]

    /// The column values of `run`.
    ///
    /// - Throws: ``Flows/RunStoreError/unstorable(_:)`` if a JSON document cannot be encoded.
    init(_ run: Run) throws(RunStoreError) {
        id = run.id
        let trigger: String, steps: String, error: String?
        do {
            trigger = try StoredJSON.text(run.trigger)
            steps = try StoredJSON.text(run.steps)
            error = try run.error.map { try StoredJSON.text($0) }
        } catch {
            throw RunStoreError.unstorable("a value could not be encoded as JSON")
        }
        values = [
            run.id,
            run.workspaceID,
            run.flowID,
            run.status.rawValue,
            trigger,
            steps,
            error,
            run.createdAt.millisecondsSince1970,
            run.startedAt?.millisecondsSince1970,
            run.finishedAt?.millisecondsSince1970,
            run.notBefore.millisecondsSince1970,
            run.leaseOwner,
            run.leaseExpiresAt?.millisecondsSince1970,
            Int64(run.lifecycle.startsWithoutProgress),
        ]
    }

    // MARK: - Statements

    /// The most rows one `INSERT` carries: SQLite's default limit on bound parameters (32,766
    /// since 3.32) divided by the columns. PostgreSQL allows 65,535, so the same chunks fit there.
    static let rowsPerInsert = 32_766 / names.count

    /// The most ids one `IN (…)` list carries, under the same limit.
    static let idsPerStatement = 32_766

    /// `INSERT INTO runs (…) VALUES (…), (…), …` for `rows`, which must number at most
    /// ``rowsPerInsert``.
    static func insert(_ rows: some Collection<RunColumns>) -> SQLQueryString {
        precondition(!rows.isEmpty && rows.count <= rowsPerInsert, "an INSERT carries 1...rowsPerInsert rows")
        var query = SQLQueryString("INSERT INTO runs (" + columnList + ") VALUES ")
        var isFirst = true
        for row in rows {
            if !isFirst { query.appendLiteral(", ") }
            isFirst = false
            query.appendLiteral("(")
            query.appendInterpolation(binds: row.values)
            query.appendLiteral(")")
        }
        return query
    }

    /// ``insert(_:)`` that replaces a stored run of the same id in place (an upsert): one row the
    /// whole time, so a concurrent reader waiting on its lock (PostgreSQL) finds it, never a
    /// deleted one.
    static func upsert(_ rows: some Collection<RunColumns>) -> SQLQueryString {
        var query = insert(rows)
        query.appendLiteral(" ON CONFLICT (id) DO UPDATE SET " + updateList)
        return query
    }

    private static let updateList = names.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")

    // MARK: - Reading

    /// The run a `SELECT` (or `RETURNING`) of ``all`` returned.
    ///
    /// A trigger or step history that no longer decodes (written by a build without today's depth
    /// limits) does not make the run unreadable: it reads as a note saying so, and the run's status,
    /// times and error stay visible. An unfinished run in that state reads as ended `ambiguous`
    /// (`EUNREADABLE`), and the next write of it stores that: running it would start over without
    /// its history, repeating what it already did (an email), or with an empty trigger.
    static func run(from row: any SQLRow) throws(StorageError) -> Run {
        let stored = StoredRow(row, table: "runs")
        let unreadable = JSONValue.object(["$unreadable": "This part of the run could not be read back from storage"])
        var runError: RunError?
        do {
            runError = try stored.optionalJSON("error")
        } catch {
            runError = RunError(code: "EUNREADABLE", message: "This run's error could not be read back from storage")
        }
        let trigger: TriggerPayload? = try? stored.json("trigger")
        let steps: [StepRecord]? = try? stored.json("steps")
        var status: RunStatus = try stored.rawValue("status")
        var finishedAt = try stored.optionalDate("finished_at")
        var leaseOwner: String? = try stored.optional("lease_owner")
        var leaseExpiresAt = try stored.optionalDate("lease_expires_at")
        if (trigger == nil || steps == nil) && !status.isTerminal {
            status = .ambiguous
            runError = RunError(
                code: "EUNREADABLE",
                message: "This run's stored history could not be read back; it was ended rather than run again from the start, which could repeat what it already did")
            finishedAt = finishedAt ?? Date()
            leaseOwner = nil
            leaseExpiresAt = nil
        }
        return Run(
            id: try stored.value("id"),
            workspaceID: try stored.value("workspace_id"),
            flowID: try stored.value("flow_id"),
            trigger: trigger ?? TriggerPayload(kind: "unknown", body: unreadable),
            steps: steps ?? [],
            createdAt: try stored.date("created_at"),
            lifecycle: RunLifecycle(
                restoring: status,
                error: runError,
                startedAt: try stored.optionalDate("started_at"),
                finishedAt: finishedAt,
                notBefore: try stored.date("not_before"),
                leaseOwner: leaseOwner,
                leaseExpiresAt: leaseExpiresAt,
                startsWithoutProgress: Int(try stored.value("starts_without_progress", as: Int64.self))))
    }
}

extension StoredRow {
    /// A nullable `BIGINT` milliseconds-since-1970 column.
    func optionalDate(_ column: String) throws(StorageError) -> Date? {
        try optional(column, as: Int64.self).map { Date(millisecondsSince1970: $0) }
    }
}
