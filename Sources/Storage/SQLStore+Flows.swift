public import Flows
public import Foundation
import Logging
import SQLKit

extension SQLStore: FlowStore {
    /// Stores a new flow.
    ///
    /// - Throws: ``Flows/FlowStoreError/duplicateName`` if the workspace has a flow of that name.
    ///   The engine's unique constraints back the check against a concurrent insert, and a taken id
    ///   or webhook id (random, so never in practice) is refused the same way rather than
    ///   overwriting another flow. The workspace must exist: the foreign key refuses an orphan with
    ///   the engine's constraint error.
    public func insertFlow(_ flow: Flow) async throws {
        guard try await flowID(named: flow.name, workspaceID: flow.workspaceID) == nil else {
            throw FlowStoreError.duplicateName
        }
        let columns = try FlowColumns(flow)
        try await mappingDuplicateFlowName {
            try await database.raw("""
                INSERT INTO flows (id, workspace_id, \(columns.columnList))
                VALUES (\(bind: flow.id), \(bind: flow.workspaceID), \(columns.valueList))
                """).run()
        }
        try await notify(.flowsChanged, in: database)
    }

    /// The flow `id` of `workspaceID`; `nil` if it belongs to another workspace.
    public func flow(id: String, workspaceID: String) async throws -> Flow? {
        try await firstFlow("SELECT \(FlowColumns.all) FROM flows WHERE id = \(bind: id) AND workspace_id = \(bind: workspaceID)")
    }

    /// The flow `id` of any workspace, for the executor.
    public func flow(id: String) async throws -> Flow? {
        try await firstFlow("SELECT \(FlowColumns.all) FROM flows WHERE id = \(bind: id)")
    }

    /// The flow whose webhook has `webhookID`, enabled or not (the caller decides what a disabled
    /// flow answers).
    public func flow(webhookID: String) async throws -> Flow? {
        try await firstFlow("SELECT \(FlowColumns.all) FROM flows WHERE webhook_id = \(bind: webhookID)")
    }

    /// A workspace's flows by name; ties (impossible while names are unique) broken by id.
    ///
    /// SQLite compares text byte by byte, which for UTF-8 is the order of Swift's `<` on strings
    /// in Unicode normalization form C (what clients send in practice). The PostgreSQL port needs
    /// `COLLATE "C"` for the same order.
    public func flows(workspaceID: String) async throws -> [Flow] {
        try await allFlows("SELECT \(FlowColumns.all) FROM flows WHERE workspace_id = \(bind: workspaceID) ORDER BY name, id")
    }

    /// Replaces every column of the stored flow with the same id and workspace, `created_at`
    /// included, as ``Flows/InMemoryFlowStore`` replaces the whole value. The flow's last cron fire
    /// stays.
    ///
    /// - Returns: `false` if the workspace has no flow with this id (checked before the name).
    /// - Throws: ``Flows/FlowStoreError/duplicateName`` if another flow of the workspace has the new
    ///   name.
    public func updateFlow(_ flow: Flow) async throws -> Bool {
        let existing = try await database.raw("""
            SELECT id FROM flows WHERE id = \(bind: flow.id) AND workspace_id = \(bind: flow.workspaceID)
            """).first()
        guard existing != nil else { return false }
        if let other = try await flowID(named: flow.name, workspaceID: flow.workspaceID), other != flow.id {
            throw FlowStoreError.duplicateName
        }
        let columns = try FlowColumns(flow)
        let updated = try await mappingDuplicateFlowName {
            try await database.raw("""
                UPDATE flows SET \(columns.assignments)
                WHERE id = \(bind: flow.id) AND workspace_id = \(bind: flow.workspaceID) AND version = \(bind: Int64(flow.version - 1))
                RETURNING id
                """).all()
        }
        guard updated.isEmpty else {
            try await notify(.flowsChanged, in: database)
            return true
        }
        // Nothing matched: deleted since the check, or saved since the version it was made from.
        let stillThere = try await database.raw("""
            SELECT id FROM flows WHERE id = \(bind: flow.id) AND workspace_id = \(bind: flow.workspaceID)
            """).first()
        if stillThere != nil { throw FlowStoreError.versionConflict }
        return false
    }

    /// Deletes the flow `id` of `workspaceID` and (by the foreign key's cascade) its last cron fire;
    /// its runs stay as history. `false` if there was none.
    public func deleteFlow(id: String, workspaceID: String) async throws -> Bool {
        let deleted = try await database.raw("""
            DELETE FROM flows WHERE id = \(bind: id) AND workspace_id = \(bind: workspaceID) RETURNING id
            """).all()
        if !deleted.isEmpty { try await notify(.flowsChanged, in: database) }
        return !deleted.isEmpty
    }

    /// Every enabled cron flow of every workspace, by id.
    public func cronFlows() async throws -> [Flow] {
        try await allFlows("""
            SELECT \(FlowColumns.all) FROM flows
            WHERE trigger_kind = \(bind: "cron") AND enabled = \(bind: true)
            ORDER BY id
            """)
    }

    /// The last due time the cron flow `flowID` fired for; `nil` if it never fired.
    public func lastCronFire(flowID: String) async throws -> Date? {
        let row = try await database.raw("SELECT flow_id, last_due_at FROM cron_fires WHERE flow_id = \(bind: flowID)").first()
        return try row.map { row throws(StorageError) in
            try StoredRow(row, table: "cron_fires", idColumn: "flow_id").date("last_due_at")
        }
    }

    // MARK: - Queries

    private func flowID(named name: String, workspaceID: String) async throws -> String? {
        let row = try await database.raw("""
            SELECT id FROM flows WHERE workspace_id = \(bind: workspaceID) AND name = \(bind: name)
            """).first()
        return try row.map { row throws(StorageError) in try StoredRow(row, table: "flows").value("id") }
    }

    private func firstFlow(_ query: SQLQueryString) async throws -> Flow? {
        try await database.raw(query).first().map(FlowColumns.flow(from:))
    }

    private func allFlows(_ query: SQLQueryString) async throws -> [Flow] {
        try await database.raw(query).all().map(FlowColumns.flow(from:))
    }

    /// Runs a write, turning the engine's unique-constraint error into
    /// ``Flows/FlowStoreError/duplicateName``.
    private func mappingDuplicateFlowName<Result>(_ write: () async throws -> Result) async throws -> Result {
        do {
            return try await write()
        } catch let error where UniqueViolation.matches(error) {
            logger.debug("Unique constraint rejected a write", metadata: ["storage.table": "flows"])
            throw FlowStoreError.duplicateName
        }
    }
}
