import Foundation
import Logging
import SQLKit
import Storage
import TestSupport
import Testing
import Workspaces

/// Both store ports at once: what the contract suites exercise.
typealias ContractStore = WorkspaceStore & CredentialStore & DomainStore & SuppressionStore

/// The implementations the contract suites run against, so both are held to one behaviour.
enum StoreKind: CaseIterable, Sendable, CustomTestStringConvertible {
    /// ``Workspaces/InMemoryStore``: the reference.
    case inMemory
    /// ``Storage/SQLStore`` on a SQLite file in a fresh temporary directory.
    case sqliteFile
    /// ``Storage/SQLStore`` on PostgreSQL (the tests' throwaway cluster), in a fresh schema.
    case postgres

    var testDescription: String {
        switch self {
        case .inMemory: "in memory"
        case .sqliteFile: "SQLite file"
        case .postgres: "PostgreSQL"
        }
    }

    /// Runs `body` with a fresh, empty store of this kind, and disposes of it afterwards.
    func withStore(_ body: (any ContractStore) async throws -> Void) async throws {
        switch self {
        case .inMemory:
            try await body(InMemoryStore())
        case .sqliteFile:
            try await withTemporaryDirectory { directory in
                try await withSQLiteStorage(dataDirectory: directory) { try await body($0.store) }
            }
        case .postgres:
            try await withPostgresStorage { try await body($0.store) }
        }
    }
}

// MARK: - SQLite fixtures

/// The logger the tests hand to storage; nothing is bootstrapped, so it prints nothing.
let testLogger = Logger(label: "posthorn.storage.tests")

/// Runs `body` with a directory path under the system's temporary directory that does not exist
/// yet, and removes whatever `body` left there.
func withTemporaryDirectory(_ body: (URL) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("posthorn-storage-tests-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try await body(directory)
}

/// Opens the storage in `dataDirectory` for `body` and closes it afterwards, also when `body` throws.
func withSQLiteStorage(dataDirectory: URL, _ body: (SQLiteStorage) async throws -> Void) async throws {
    let storage = try await SQLiteStorage.open(dataDirectory: dataDirectory, logger: testLogger)
    try await closing(storage, body)
}

/// PostgreSQL storage in a schema of its own on the tests' throwaway cluster, dropped and closed
/// afterwards (also when `body` throws).
func withPostgresStorage(_ body: (PostgresStorage) async throws -> Void) async throws {
    // A few at a time: each migrates a schema of its own, and a hundred at once would load the
    // machine enough to upset the timing tests that run beside them.
    await postgresPermits.acquire()
    defer { Task { await postgresPermits.release() } }
    let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
    let storage: PostgresStorage
    do {
        storage = try await PostgresStorage.open(url: try await PostgresTestServer.url(), logger: testLogger, searchPath: [schema], connectionsPerEventLoop: 1)
    } catch {
        // The throwaway server's errors hold nothing secret: show the server's words.
        throw PostgresTestFailure(String(reflecting: error))
    }
    do {
        try await body(storage)
    } catch {
        if String(describing: type(of: error)) == "PSQLError" { Issue.record("\(String(reflecting: error))") }
        try? await storage.store.database.raw("DROP SCHEMA \(ident: schema) CASCADE").run()
        try? await storage.close()
        throw error
    }
    try await storage.store.database.raw("DROP SCHEMA \(ident: schema) CASCADE").run()
    try await storage.close()
}

/// How many tests use PostgreSQL at once.
let postgresPermits = Permits(3)

/// A counting semaphore for tasks.
actor Permits {
    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { available = count }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { available += 1 } else { waiting.removeFirst().resume() }
    }
}

/// A PostgreSQL error with the server's message, for a test's report.
struct PostgresTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An in-memory SQLite storage for `body`, closed afterwards.
func withInMemorySQLiteStorage(_ body: (SQLiteStorage) async throws -> Void) async throws {
    let storage = try await SQLiteStorage.inMemory(logger: testLogger)
    try await closing(storage, body)
}

/// Closing matters: SQLiteNIO asserts that every connection was closed before it is freed.
private func closing(_ storage: SQLiteStorage, _ body: (SQLiteStorage) async throws -> Void) async throws {
    do {
        try await body(storage)
    } catch {
        try? await storage.close()
        throw error
    }
    try await storage.close()
}
