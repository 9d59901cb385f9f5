import Foundation
import SQLKit
import Storage
import Testing
import Workspaces

/// What only the SQLite storage has: a file, a connection set up for sharing, and migrations.
@Suite("SQLite storage")
struct SQLiteStorageTests {
    @Test("the database file is created inside the given directory, which is created if missing")
    func fileLocation() async throws {
        try await withTemporaryDirectory { root in
            let directory = root.appendingPathComponent("nested/data", isDirectory: true)
            let expected = directory.appendingPathComponent("posthorn.sqlite")
            try await withSQLiteStorage(dataDirectory: directory) { storage in
                #expect(storage.databaseURL == expected)
                #expect(FileManager.default.fileExists(atPath: expected.path))
            }
            let mode = try FileManager.default.attributesOfItem(atPath: expected.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
    }

    @Test("reopening the file keeps workspaces, credentials and settings")
    func reopen() async throws {
        try await withTemporaryDirectory { directory in
            let workspace = Fixture.workspace("ws_1", name: "Acme")
            let credential = try Fixture.credential("cr_1", workspaceID: "ws_1", name: "Relay")
            try await withSQLiteStorage(dataDirectory: directory) { storage in
                try await storage.store.insertWorkspace(workspace, tokenHash: "hash-1")
                try await storage.store.insertCredential(credential)
                try await storage.store.setSetting("admin_token_hash", to: "admin-hash")
            }
            try await withSQLiteStorage(dataDirectory: directory) { storage async throws in
                #expect(try await storage.store.workspace(tokenHash: "hash-1") == workspace)
                #expect(try await storage.store.allCredentials() == [credential])
                #expect(try await storage.store.setting("admin_token_hash") == "admin-hash")
            }
        }
    }

    @Test("the connection runs in WAL mode with foreign keys and a bounded busy timeout")
    func connectionSettings() async throws {
        try await withTemporaryDirectory { directory in
            try await withSQLiteStorage(dataDirectory: directory) { storage async throws in
                let database = storage.store.database
                #expect(try await firstValue("PRAGMA journal_mode", on: database, as: String.self) == "wal")
                #expect(try await firstValue("PRAGMA foreign_keys", on: database, as: Int.self) == 1)
                #expect(try await firstValue("PRAGMA busy_timeout", on: database, as: Int.self) == 5000)
            }
        }
    }

    @Test("deleting a workspace deletes its credentials (foreign keys are on)")
    func cascade() async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            try await store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash-1")
            try await store.insertWorkspace(Fixture.workspace("ws_2"), tokenHash: "hash-2")
            try await store.insertCredential(try Fixture.credential("cr_1", workspaceID: "ws_1"))
            let kept = try Fixture.credential("cr_2", workspaceID: "ws_2")
            try await store.insertCredential(kept)

            try await store.database.raw("DELETE FROM workspaces WHERE id = \(bind: "ws_1")").run()

            #expect(try await store.allCredentials() == [kept])
        }
    }

    @Test("a credential for a workspace that does not exist is refused")
    func orphanCredential() async throws {
        try await withInMemorySQLiteStorage { storage async throws in
            await #expect(throws: (any Error).self) {
                try await storage.store.insertCredential(try Fixture.credential("cr_1", workspaceID: "ws_missing"))
            }
            #expect(try await storage.store.allCredentials().isEmpty)
        }
    }

    @Test("the engine's unique constraint is reported as a duplicate, not as an engine error")
    func constraintMapping() async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            try await store.insertWorkspace(Fixture.workspace("ws_1", name: "One"), tokenHash: "same-hash")

            // The pre-check looks at id and name only, so this reaches the `UNIQUE` on token_hash.
            await #expect(throws: StoreError.duplicate("name")) {
                try await store.insertWorkspace(Fixture.workspace("ws_2", name: "Two"), tokenHash: "same-hash")
            }
            #expect(try await store.workspaces().map(\.id) == ["ws_1"])
        }
    }

    @Test("concurrent upserts of one setting all succeed, and one of the values wins")
    func concurrentSettings() async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            let values = (0..<8).map { "value-\($0)" }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for value in values {
                    group.addTask { try await store.setSetting("contested", to: value) }
                }
                try await group.waitForAll()
            }
            let stored = try #require(try await store.setting("contested"))
            #expect(values.contains(stored))
            let rows = try await store.database.raw("SELECT key FROM settings WHERE key = \(bind: "contested")").all()
            #expect(rows.count == 1)
        }
    }

    // MARK: - Migrations

    @Test("migrating again is a no-op: one schema_migrations row per version")
    func migrateTwice() async throws {
        try await withTemporaryDirectory { directory in
            try await withSQLiteStorage(dataDirectory: directory) { storage in
                let migrations = Migrations(database: storage.store.database, logger: testLogger)
                #expect(try await migrations.migrate().isEmpty)
                #expect(try await migrations.migrate().isEmpty)
                #expect(try await migrations.appliedVersions() == Migrations.all.map(\.version))

                let rows = try await storage.store.database.raw("SELECT version, name FROM schema_migrations").all()
                #expect(rows.count == Migrations.all.count)
            }
            // Opening runs the migrations again.
            try await withSQLiteStorage(dataDirectory: directory) { storage async throws in
                let migrations = Migrations(database: storage.store.database, logger: testLogger)
                #expect(try await migrations.appliedVersions() == Migrations.all.map(\.version))
            }
        }
    }

    @Test("a failing migration leaves neither its tables nor its record behind")
    func failedMigrationRollsBack() async throws {
        try await withInMemorySQLiteStorage { storage in
            let database = storage.store.database
            let broken = Migration(version: 1_000, name: "broken", statements: [
                "CREATE TABLE half_done (id TEXT PRIMARY KEY)",
                "CREATE TABLE", // a syntax error after a successful statement
            ])
            let migrations = Migrations(database: database, list: Migrations.all + [broken], logger: testLogger)

            await #expect(throws: (any Error).self) { try await migrations.migrate() }

            #expect(try await migrations.appliedVersions() == Migrations.all.map(\.version))
            let tables = try await database.raw("""
                SELECT name FROM sqlite_master WHERE type = 'table' AND name = \(bind: "half_done")
                """).all()
            #expect(tables.isEmpty)
        }
    }

    @Test("a database migrated by a newer build is refused")
    func schemaTooNew() async throws {
        try await withInMemorySQLiteStorage { storage in
            let database = storage.store.database
            try await database.raw("""
                INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(bind: 999), \(bind: "future"), \(bind: 0))
                """).run()
            let latest = Migrations.all.last?.version ?? 0

            await #expect(throws: StorageError.schemaTooNew(databaseVersion: 999, supportedVersion: latest)) {
                try await Migrations(database: database, logger: testLogger).migrate()
            }
        }
    }

    // MARK: - Decoding

    @Test("a row with a value the model cannot hold is a clear error naming the column", arguments: [
        ("security", "smtps"),
        ("min_tls_version", "1.1"),
        ("kind", "oauth"),
        ("password_sealed", "v1.not-a-key.AAAA"),
        ("password_sealed", ""),
    ])
    func invalidValues(column: String, value: String) async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            try await store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash-1")
            try await store.insertCredential(try Fixture.credential("cr_1", workspaceID: "ws_1"))

            try await store.database.raw("UPDATE credentials SET \(ident: column) = \(bind: value)").run()

            let expected = StorageError.invalidValue(table: "credentials", column: column, rowID: "cr_1")
            await #expect(throws: expected) { try await store.credential(id: "cr_1", workspaceID: "ws_1") }
            await #expect(throws: expected) { try await store.allCredentials() }
            #expect(!String(describing: expected).contains(value) || value.isEmpty)
        }
    }

    @Test("a column of the wrong type is a clear error too")
    func wrongType() async throws {
        try await withInMemorySQLiteStorage { storage in
            let store = storage.store
            try await store.insertWorkspace(Fixture.workspace("ws_1"), tokenHash: "hash-1")
            try await store.database.raw("UPDATE workspaces SET created_at = \(bind: "yesterday")").run()

            await #expect(throws: StorageError.invalidValue(table: "workspaces", column: "created_at", rowID: "ws_1")) {
                try await store.workspace(id: "ws_1")
            }
        }
    }

    // MARK: - Helpers

    /// The first column of the first row `query` returns.
    private func firstValue<Value: Decodable>(
        _ query: SQLQueryString, on database: any SQLDatabase, as type: Value.Type
    ) async throws -> Value? {
        let row = try #require(try await database.raw(query).first())
        let column = try #require(row.allColumns.first)
        return try row.decode(column: column, as: Value.self)
    }
}
