public import Egress
public import Foundation
public import Logging
public import MIME
public import Prometheus
public import Workspaces

/// What `posthorn serve` was told: where the data lives, where to listen, where mail may go.
///
/// Its description and mirror leave out ``environment``, which may hold the master key and the
/// admin token.
public struct ServerConfiguration: Sendable, CustomStringConvertible, CustomReflectable {
    /// Holds the SQLite database and, unless the environment supplies one, the master key file.
    public var dataDirectory: URL
    /// The listening address; loopback by default so a first start exposes nothing.
    public var host: String
    public var port: Int
    /// Private ranges the operator allows SMTP connections to (on-premises relays, tests).
    public var egressPolicy: EgressPolicy
    /// `POSTHORN_MASTER_KEY`, `POSTHORN_MASTER_KEY_FILE`, `POSTHORN_ADMIN_TOKEN`.
    public var environment: [String: String]
    public var logLevel: Logger.Level
    /// Runs executing at once.
    public var runConcurrency = 64
    /// The most attachment bytes one `smtp.send` step may carry in all (25 MB).
    public var attachmentLimit = 25_000_000
    /// Finished runs are kept this long (30 days).
    public var runRetention: Duration = .seconds(30 * 86_400)
    /// The most runs one workspace may have executing at once; `nil`: ``runConcurrency`` less an
    /// eighth kept for the other workspaces (see `FlowExecutor.Configuration`).
    public var workspaceConcurrency: Int?
    /// Recipients and attachments per message (100 and 20).
    public var emailLimits = EmailLimits()
    /// Head read timeout, idle timeout and the cap on open HTTP connections.
    public var connectionLimits = HTTPConnectionLimits()
    /// How long SIGTERM waits for runs under way before cancelling them (10 s).
    public var shutdownGrace: Duration = .seconds(10)
    /// How long a run claimed by this instance stays its own without renewal, and how often the
    /// instance renews (`--lease-seconds`, `--lease-renewal-seconds`): after an instance dies or
    /// loses the database for a lease, the others take its runs over.
    public var lease: Duration = .seconds(30)
    public var leaseRenewal: Duration = .seconds(10)
    /// Where `/metrics` listens (its own listener, loopback by default); port 0 turns it off.
    public var metricsHost = "127.0.0.1"
    public var metricsPort = 9464
    /// The address people reach the server at when it sits behind a proxy
    /// (`https://posthorn.example.com`): the origin the browser's changes must come from, the base
    /// of links the server prints, and, when https, the session cookie's `Secure` flag. `nil`: the
    /// request's `Host` (and `http://host:port` in printed links).
    public var publicURL: URL?
    /// Whether a proxy the operator runs sets `X-Forwarded-For`, so sign-in throttling counts the
    /// address it saw instead of the proxy's own (`--trust-forwarded-for`).
    public var trustsForwardedFor = false
    /// The DNS servers *Check DNS* asks (`--dns-resolver HOST:PORT`); empty: those of
    /// /etc/resolv.conf.
    public var dnsServers: [(host: String, port: UInt16)] = []
    /// A PostgreSQL database instead of the data directory's SQLite file (`--database
    /// postgres://…` or `POSTHORN_DATABASE_URL`). The data directory still holds the key file.
    public var postgresURL: String?
    /// A PEM certificate trusted for every SNS message instead of the one its `SigningCertURL`
    /// names (`--trust-sns-certificate`): for tests and installations that cannot reach AWS.
    /// Command line only — nothing a request or a token sends can set it.
    public var trustedSNSCertificate: String?
    /// Sign-in sessions, invitations and password hashing (`UserService.Configuration`).
    public var users = UserService.Configuration()
    /// Where every component's metrics are kept, and what `/metrics` prints.
    public var metricsRegistry = PrometheusCollectorRegistry()

    /// Creates a configuration with `posthorn serve`'s defaults.
    public init(
        dataDirectory: URL = URL(fileURLWithPath: "posthorn-data"), host: String = "127.0.0.1", port: Int = 8080,
        egressPolicy: EgressPolicy = EgressPolicy(), environment: [String: String] = ProcessInfo.processInfo.environment,
        logLevel: Logger.Level = .info
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.egressPolicy = egressPolicy
        self.environment = environment
        self.logLevel = logLevel
    }

    public var description: String {
        "ServerConfiguration(dataDirectory: \(dataDirectory.path), host: \(host), port: \(port), logLevel: \(logLevel))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["dataDirectory": dataDirectory, "host": host, "port": port, "logLevel": logLevel])
    }

    /// The SQLite file.
    /// Where people reach Posthorn: `--public-url`, else `http://host:port`. OAuth providers send
    /// browsers back to `<this>/settings/oauth/callback`.
    public var publicBase: String {
        if let publicURL {
            let text = publicURL.absoluteString
            return text.hasSuffix("/") ? String(text.dropLast()) : text
        }
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    public var databaseURL: URL { dataDirectory.appendingPathComponent("posthorn.sqlite") }
    /// The default key ring file.
    public var keyFileURL: URL { dataDirectory.appendingPathComponent("master.key") }
}
