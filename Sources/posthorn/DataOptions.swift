import ArgumentParser
import Storage
import Secrets
import Egress
import Foundation
import Logging
import Server
import Workspaces

/// `--data-dir` and `--database`, shared by `serve` and every command that works on stored data.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory (database and master key). Default: ./posthorn-data")
    var dataDirectory: String = "posthorn-data"

    @Option(name: .customLong("database"), help: ArgumentHelp(
        "A PostgreSQL database instead of the data directory's SQLite file: postgres://user:password@host:5432/db?sslmode=require (also POSTHORN_DATABASE_URL). The master key still comes from the data directory or POSTHORN_MASTER_KEY(_FILE).",
        valueName: "URL"))
    var database: String?

    var url: URL { URL(fileURLWithPath: dataDirectory) }

    /// `--database`, else `POSTHORN_DATABASE_URL`; `nil` for SQLite.
    var postgresURL: String? {
        let value = database ?? ProcessInfo.processInfo.environment["POSTHORN_DATABASE_URL"]
        return value?.isEmpty == false ? value : nil
    }

    /// Opens the data directory quietly (warnings only) for a one-shot command.
    func openEnvironment(
        egress: EgressPolicy = EgressPolicy(), exclusive: Bool = false, logLevel: Logger.Level = .warning
    ) async throws -> PosthornEnvironment {
        var logger = Logger(label: "posthorn")
        logger.logLevel = logLevel
        var configuration = ServerConfiguration(dataDirectory: url, egressPolicy: egress, logLevel: logLevel)
        configuration.postgresURL = postgresURL
        return try await PosthornEnvironment.open(configuration: configuration, logger: logger, exclusive: exclusive)
    }

    /// Opens the data directory, runs `body`, and closes the database whatever happens.
    func withEnvironment<Result>(
        egress: EgressPolicy = EgressPolicy(), exclusive: Bool = false, _ body: (PosthornEnvironment) async throws -> Result
    ) async throws -> Result {
        let environment = try await openEnvironment(egress: egress, exclusive: exclusive)
        do {
            // Whichever command touches a new data directory first creates its admin token and
            // default workspace, and shows the tokens this once (on standard error, keeping
            // standard output for the command's JSON).
            let bootstrap = try await environment.bootstrap()
            if let token = bootstrap.generatedAdminToken {
                FileHandle.standardError.write(Data("Admin API token (shown once): \(token.revealedValue)\n".utf8))
            }
            if let (workspace, token) = bootstrap.defaultWorkspace {
                FileHandle.standardError.write(Data("Workspace \"\(workspace.name)\" API token (shown once): \(token.revealedValue)\n".utf8))
            }
            let result = try await body(environment)
            try await environment.close()
            return result
        } catch {
            try? await environment.close()
            throw error
        }
    }
}

/// `--workspace`, for commands that act inside one workspace.
struct WorkspaceOption: ParsableArguments {
    @Option(help: "Workspace name or id (default: the workspace named \"default\").")
    var workspace: String = "default"

    func resolve(in environment: PosthornEnvironment) async throws -> Workspace {
        try await Self.resolve(workspace, in: environment)
    }

    /// The workspace with this id or name.
    static func resolve(_ workspace: String, in environment: PosthornEnvironment) async throws -> Workspace {
        let store = environment.storage.store
        if let found = try await store.workspace(id: workspace) { return found }
        if let found = try await store.workspace(named: workspace) { return found }
        throw CommandFailure(message: "workspace: no workspace named \(workspace)")
    }
}

/// Parses `--allow-private-egress` values plus `POSTHORN_ALLOW_PRIVATE_EGRESS`.
func egressPolicy(flags: [String], field: String = "allowPrivateEgress") throws -> EgressPolicy {
    let sources = flags + [ProcessInfo.processInfo.environment["POSTHORN_ALLOW_PRIVATE_EGRESS"]].compactMap { $0 }
    var allowlist: [CIDR] = []
    for text in sources where !text.trimmingCharacters(in: .whitespaces).isEmpty {
        do {
            allowlist += try EgressPolicy.parseAllowlist(text)
        } catch {
            throw CommandFailure(message: "\(field): \(error)")
        }
    }
    return EgressPolicy(allowlist: allowlist)
}
