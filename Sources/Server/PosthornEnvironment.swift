public import Egress
public import Foundation
public import Logging
public import Storage
public import Vault
public import Workspaces
import Secrets

/// Everything a Posthorn process opens from its data directory: the key ring, the database, and
/// the services over them. `posthorn serve` and the CLI's `workspace`/`credential`/`key` commands
/// both start here, so they read and write the same data.
public struct PosthornEnvironment: Sendable {
    public let configuration: ServerConfiguration
    public let storage: SQLiteStorage
    public let vault: Vault
    /// Where the key ring came from (rotation rewrites a key file, and refuses an environment key).
    public let keySource: KeySource
    public let services: PosthornServices

    /// Opens (creating on first start) the data directory, the key ring and the database.
    /// `resolver` is the DNS seam for SMTP connections (tests answer from a table).
    public static func open(
        configuration: ServerConfiguration, logger: Logger, resolver: any HostResolver = SystemResolver()
    ) async throws -> PosthornEnvironment {
        try createPrivateDirectory(configuration.dataDirectory)
        let (ring, keySource) = try KeyRingFile.resolve(environment: configuration.environment, defaultURL: configuration.keyFileURL)
        if case .file(let url, created: true) = keySource {
            logger.info("master key created", metadata: ["posthorn.key.file": "\(url.path)", "posthorn.key.id": "\(ring.active.id)"])
        }
        let storage = try await SQLiteStorage.open(dataDirectory: configuration.dataDirectory, logger: logger)
        let vault = Vault(keyRing: ring)
        let workspaces = WorkspaceService(store: storage.store)
        let credentials = CredentialService(store: storage.store, vault: vault)
        let tester = ConnectionTester(
            egress: EgressGuard(policy: configuration.egressPolicy, resolver: resolver), credentials: credentials, logger: logger)
        return PosthornEnvironment(
            configuration: configuration, storage: storage, vault: vault, keySource: keySource,
            services: PosthornServices(workspaces: workspaces, credentials: credentials, connectionTester: tester))
    }

    /// Sets the admin token and creates the default workspace on first start.
    public func bootstrap() async throws -> WorkspaceService.Bootstrap {
        try await services.workspaces.bootstrap(adminToken: configuration.environment["POSTHORN_ADMIN_TOKEN"].map(Secret.init))
    }

    /// Closes the database.
    public func close() async throws {
        try await storage.close()
    }

    /// The data directory holds the key and every credential: owner-only (0700).
    private static func createPrivateDirectory(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw WorkspaceError.invalid("dataDir", "\(url.path) exists and is not a directory")
            }
            return
        }
        try FileManager.default.createDirectory(
            at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
}
