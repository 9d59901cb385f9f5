import Foundation
import Logging
import Storage
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

    var testDescription: String {
        switch self {
        case .inMemory: "in memory"
        case .sqliteFile: "SQLite file"
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
