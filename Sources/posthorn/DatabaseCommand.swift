import ArgumentParser
import Foundation
import Logging
import Server
import Storage

/// `posthorn db copy`: moves an installation from its embedded SQLite file to PostgreSQL.
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Work on the database as a whole.", subcommands: [Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a whole installation from SQLite into an empty PostgreSQL database, and verify the counts.",
            discussion: """
                Workspaces, users, sessions, tokens, credentials (still sealed: keep the master key), \
                flows, cron fires, run history and everything else move in one transaction, and each \
                table's rows are counted on both sides afterwards. Stop `posthorn serve` on the source \
                first. Then start every instance with --database and the same master key.
                """)

        @Option(help: ArgumentHelp("The source: sqlite:PATH, PATH being a data directory or its posthorn.sqlite file.", valueName: "sqlite:PATH"))
        var from: String

        @Option(help: ArgumentHelp("The target: an empty PostgreSQL database, postgres://user:password@host:5432/db?sslmode=….", valueName: "URL"))
        var to: String

        func run() async throws {
            var logger = Logger(label: "posthorn")
            logger.logLevel = .warning
            do {
                guard from.hasPrefix("sqlite:") else { throw CommandFailure(message: "from: must be sqlite:PATH (a data directory or its posthorn.sqlite)") }
                var path = URL(fileURLWithPath: String(from.dropFirst("sqlite:".count)))
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
                    throw CommandFailure(message: "from: \(path.path) does not exist")
                }
                if !isDirectory.boolValue {
                    guard path.lastPathComponent == SQLiteStorage.fileName else {
                        throw CommandFailure(message: "from: \(path.path) is not a data directory or its \(SQLiteStorage.fileName)")
                    }
                    path.deleteLastPathComponent()
                }
                guard FileManager.default.fileExists(atPath: path.appendingPathComponent(SQLiteStorage.fileName).path) else {
                    throw CommandFailure(message: "from: \(path.path) holds no \(SQLiteStorage.fileName)")
                }
                // Exclusive: no server may write the source while it is copied.
                let lock = try DataDirectoryLock(directory: path, exclusive: true)
                defer { lock.release() }
                let source = try await SQLiteStorage.open(dataDirectory: path, logger: logger)
                let counts: [DatabaseCopy.TableCount]
                do {
                    let target = try await PostgresStorage.open(url: to, logger: logger)
                    do {
                        counts = try await DatabaseCopy.copy(from: source.store, to: target.store, logger: logger)
                    } catch {
                        try? await target.close()
                        throw error
                    }
                    try await target.close()
                } catch {
                    try? await source.close()
                    throw error
                }
                try await source.close()
                let width = counts.map(\.table.count).max() ?? 5
                var lines = counts.map { "\($0.table.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.target)" }
                lines.append("Copied \(counts.reduce(0) { $0 + $1.target }) rows in \(counts.count) tables; every count verified.")
                FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }
}
