import DKIM
public import Egress
public import Flows
public import Foundation
public import Logging
import Nodes
import Prometheus
import SMTP
public import Storage
public import Vault
public import Workspaces
import Secrets

/// Everything a Posthorn process opens from its data directory: the key ring, the database, and
/// the services over them. `posthorn serve` and the CLI's `workspace`/`credential`/`key` commands
/// both start here, so they read and write the same data.
public struct PosthornEnvironment: Sendable {
    public let configuration: ServerConfiguration
    public let storage: DatabaseStorage
    public let vault: Vault
    /// Where the key ring came from (rotation rewrites a key file, and refuses an environment key).
    public let keySource: KeySource
    public let services: PosthornServices
    /// The run writer, executor, scheduler and retention: the long-running services of `serve`.
    public let engine: FlowEngine
    private let lock: DataDirectoryLock

    /// Opens (creating on first start) the data directory, the key ring and the database.
    /// `resolver` is the DNS seam for SMTP connections (tests answer from a table). `exclusive` is
    /// for key rotation: it fails while any other posthorn process uses the directory.
    public static func open(
        configuration: ServerConfiguration, logger: Logger, resolver: any HostResolver = SystemResolver(),
        exclusive: Bool = false
    ) async throws -> PosthornEnvironment {
        let lock = try DataDirectoryLock(directory: configuration.dataDirectory, exclusive: exclusive)
        try refuseNewKeyForExistingData(configuration)
        let (ring, keySource) = try KeyRingFile.resolve(environment: configuration.environment, defaultURL: configuration.keyFileURL)
        if case .file(let url, created: true) = keySource {
            logger.info("master key created", metadata: ["posthorn.key.file": "\(url.path)", "posthorn.key.id": "\(ring.active.id)"])
        }
        let storage = try await DatabaseStorage.open(
            dataDirectory: configuration.dataDirectory, postgresURL: configuration.postgresURL, logger: logger)
        let vault = Vault(keyRing: ring)
        let workspaces = WorkspaceService(store: storage.store)
        let users = UserService(users: storage.store, workspaces: storage.store, configuration: configuration.users)
        let credentials = CredentialService(store: storage.store, vault: vault)
        let domains = DomainService(store: storage.store, vault: vault)
        let egress = EgressGuard(policy: configuration.egressPolicy, resolver: resolver)
        let metricsFactory = PrometheusMetricsFactory(registry: configuration.metricsRegistry)
        let pool = SMTPPool(egress: egress, logger: logger, metricsFactory: metricsFactory)
        var fetcher = GuardedHTTPFetcher(egress: egress, logger: logger)
        fetcher.metrics = NodeMetrics(factory: metricsFactory)
        let serverMetrics = ServerMetrics(factory: metricsFactory)
        let oauth = OAuthService(
            providers: try OAuthProviderConfiguration.load(environment: configuration.environment), credentials: storage.store,
            authorizations: storage.store, vault: vault, endpoint: GuardedOAuthTokenEndpoint(fetcher: fetcher),
            redirectURI: configuration.publicBase + "/settings/oauth/callback",
            onRefresh: { outcome in serverMetrics.oauthRefreshed(outcome: outcome) },
            clients: OAuthClientSettings(store: storage.store, vault: vault))
        let tester = ConnectionTester(egress: egress, credentials: credentials, oauth: oauth, logger: logger)
        let rateGate = RateGate(store: storage.store)
        let suppressions = SuppressionService(store: storage.store)
        let registry = NodeRegistry([
            DebugEchoNode(),
            SendSMTPEmailNode(
                credentials: credentials, domains: domains, transport: pool, fetcher: fetcher, attachmentLimit: configuration.attachmentLimit,
                emailLimits: configuration.emailLimits, metrics: NodeMetrics(factory: metricsFactory), rateGate: rateGate,
                workspaces: storage.store, suppressions: suppressions, sentMessages: GroupCommittedSentMessages(storage.store), oauth: oauth),
            HTTPRequestNode(fetcher: fetcher),
        ])
        let webhooks = WebhookFlowCache()
        let engine = FlowEngine(
            storage: storage, registry: registry, pool: pool, webhooks: webhooks, configuration: configuration,
            metricsFactory: metricsFactory, logger: logger)
        do {
            try await checkEverySecretOpens(storage.store, ring: ring)
            try await rateGate.restore()
        } catch {
            try? await storage.close()
            throw error
        }
        return PosthornEnvironment(
            configuration: configuration, storage: storage, vault: vault, keySource: keySource,
            services: PosthornServices(
                workspaces: workspaces, users: users,
                browser: BrowserPolicy(
                    publicURL: configuration.publicURL, cookieLifetime: configuration.users.absoluteLimit,
                    trustsForwardedFor: configuration.trustsForwardedFor),
                credentials: credentials, connectionTester: tester, flows: engine.service,
                flowStore: storage.store, runStore: storage.store, metrics: serverMetrics,
                runEvents: engine.events, domains: domains,
                dnsResolver: configuration.dnsServers.isEmpty ? SystemTXTResolver() : SystemTXTResolver(servers: configuration.dnsServers),
                suppressions: suppressions,
                bounces: BounceIngest(
                    runs: storage.store, flows: storage.store, sentMessages: storage.store, suppressions: suppressions,
                    wake: { [executor = engine.executor] in executor.wake() }),
                intakes: IntakeService(store: storage.store, credentials: storage.store, vault: vault),
                sns: GuardedSNSEndpoint(fetcher: fetcher, pinnedCertificate: configuration.trustedSNSCertificate),
                replays: storage.store,
                readiness: { [executor = engine.executor] in await storage.isReachable() && executor.isHealthy },
                webhooks: webhooks, oauth: oauth),
            engine: engine, lock: lock)
    }

    /// Takes the executor role for this data directory, or `nil` when another process has it
    /// (SQLite); always granted on PostgreSQL, where instances share the work under leases.
    public func claimExecution() -> ExecutionLease? {
        guard !storage.isShared else { return ExecutionLease(lock: nil) }
        return (try? DataDirectoryLock(directory: configuration.dataDirectory, exclusive: true, fileName: "executor.lock"))
            .map(ExecutionLease.init)
    }

    /// Sets the admin token and creates the default workspace on first start.
    public func bootstrap() async throws -> WorkspaceService.Bootstrap {
        try await services.workspaces.bootstrap(adminToken: configuration.environment["POSTHORN_ADMIN_TOKEN"].map(Secret.init))
    }

    /// Closes the database and releases the data directory.
    public func close() async throws {
        defer { lock.release() }
        try await storage.close()
    }

    /// A database without its key file must not get a new key: the new key could never open the
    /// passwords already stored, and every send would fail from then on.
    private static func refuseNewKeyForExistingData(_ configuration: ServerConfiguration) throws {
        let environment = configuration.environment
        let keyFromEnvironment = environment[KeyRingFile.keyVariable] != nil || environment[KeyRingFile.keyFileVariable] != nil
        let files = FileManager.default
        guard !keyFromEnvironment, configuration.postgresURL == nil, files.fileExists(atPath: configuration.databaseURL.path),
            !files.fileExists(atPath: configuration.keyFileURL.path)
        else { return }
        throw WorkspaceError.invalid(
            "dataDir",
            "\(configuration.databaseURL.path) exists but its master key \(configuration.keyFileURL.path) is missing: restore the key file or set \(KeyRingFile.keyVariable) or \(KeyRingFile.keyFileVariable); a new key could not open the stored passwords")
    }

    /// Every stored password must name a key in the ring; otherwise start-up stops with the ids
    /// that are missing, instead of failing one send at a time later.
    private static func checkEverySecretOpens(_ store: SQLStore, ring: KeyRing) async throws {
        let sealedWith = try await store.allCredentials().compactMap(\.sealedPassword?.keyID)
            + store.allDKIMKeys().map(\.sealedPrivateKey.keyID)
            + store.allSealedIntakes().compactMap(\.sealedProviders?.keyID)
            + OAuthClientSettings(store: store, vault: Vault(keyRing: ring)).sealedKeyIDs()
        let missing = Set(sealedWith).filter { ring.key(id: $0) == nil }
        guard missing.isEmpty else {
            throw WorkspaceError.invalid(
                "masterKey", "stored secrets are sealed with key(s) \(missing.sorted().joined(separator: ", ")), which the key ring does not hold")
        }
    }
}
