import Logging
import SQLKit

extension SQLStore {
    /// A server setting (the admin token hash).
    public func setting(_ key: String) async throws -> String? {
        let row = try await database.raw("SELECT key, value FROM settings WHERE key = \(bind: key)").first()
        return try row.map { row throws(StorageError) in try StoredRow(row, table: "settings", idColumn: "key").value("value") }
    }

    /// Sets `key` to `value`, replacing any earlier value.
    ///
    /// A portable upsert: update, and insert only if no row was updated. If another writer inserts
    /// the key between the two, the insert hits the primary key and the update is tried once more,
    /// which then finds the row; last writer wins either way.
    public func setSetting(_ key: String, to value: String) async throws {
        if try await updateSetting(key, to: value) { return }
        do {
            try await database.raw("INSERT INTO settings (key, value) VALUES (\(bind: key), \(bind: value))").run()
        } catch let error where UniqueViolation.matches(error) {
            logger.debug("Setting inserted concurrently; updating instead", metadata: ["storage.table": "settings"])
            _ = try await updateSetting(key, to: value)
        }
    }

    /// `true` if a row for `key` existed and now holds `value`.
    private func updateSetting(_ key: String, to value: String) async throws -> Bool {
        let updated = try await database.raw("""
            UPDATE settings SET value = \(bind: value) WHERE key = \(bind: key) RETURNING key
            """).all()
        return !updated.isEmpty
    }
}
