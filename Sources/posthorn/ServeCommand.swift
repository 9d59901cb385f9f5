import ArgumentParser
import Egress
import Secrets
import Foundation
import Hummingbird
import Logging
import MIME
import ServiceLifecycle
import UnixSignals
import Server
import Workspaces

/// `posthorn serve`: the API server on the embedded defaults (SQLite and a key file in ./posthorn-data).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Posthorn server.",
        discussion: """
            First start creates the data directory, the SQLite database, a master key file (mode 0600) \
            unless POSTHORN_MASTER_KEY or POSTHORN_MASTER_KEY_FILE is set, a workspace named "default", \
            and prints the admin token and the default workspace's token once. POSTHORN_ADMIN_TOKEN sets \
            the admin token instead. SIGTERM or SIGINT stop it after in-flight requests finish.
            """
    )

    @OptionGroup var data: DataOptions

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port: Int = 8080

    @Option(name: .customLong("allow-private-egress"), help: "Allow SMTP connections to this private CIDR (repeatable, comma-separated). Also POSTHORN_ALLOW_PRIVATE_EGRESS.")
    var allowPrivateEgress: [String] = []

    @Option(name: .customLong("log-level"), help: "trace, debug or info.")
    var logLevel: LogLevelOption = .info

    @Option(name: .customLong("log-format"), help: "text (default) or json: one JSON object a line, dotted metadata keys.")
    var logFormat: LogFormatOption = .text

    @Option(name: .customLong("run-retention-days"), help: "Delete finished runs older than this many days (default 30).")
    var runRetentionDays = 30

    @Option(name: .customLong("run-concurrency"), help: "Runs executing at once (default 64).")
    var runConcurrency = 64

    @Option(name: .customLong("attachment-limit-mb"), help: "Total attachment size one email may carry, in MB (default 25).")
    var attachmentLimitMB = 25

    @Option(name: .customLong("workspace-concurrency"), help: "Runs one workspace may execute at once (default: run-concurrency less an eighth, kept for other workspaces).")
    var workspaceConcurrency: Int?

    @Option(name: .customLong("max-recipients"), help: "Recipients per email, To, CC and BCC together (default 100).")
    var maxRecipients = 100

    @Option(name: .customLong("max-attachments"), help: "Attachments per email (default 20).")
    var maxAttachments = 20

    @Option(name: .customLong("header-timeout-seconds"), help: "Time allowed for a request's head to arrive (default 10).")
    var headerTimeoutSeconds = 10

    @Option(name: .customLong("body-timeout-seconds"), help: "Time allowed for a request's body to arrive after its head (default 60).")
    var bodyTimeoutSeconds = 60

    @Option(name: .customLong("idle-timeout-seconds"), help: "Time an idle keep-alive connection stays open (default 60).")
    var idleTimeoutSeconds = 60

    @Option(name: .customLong("max-connections"), help: "HTTP connections open at once (default 1000).")
    var maxConnections = 1_000

    @Option(name: .customLong("shutdown-grace-seconds"), help: "Time SIGTERM waits for runs under way before cancelling them (default 10).")
    var shutdownGraceSeconds = 10

    @Option(name: .customLong("lease-seconds"), help: "How long a run this instance executes stays its own without renewal; after it, another instance on the same PostgreSQL database takes it over (default 30).")
    var leaseSeconds = 30

    @Option(name: .customLong("lease-renewal-seconds"), help: "How often this instance renews its runs' leases and takes over runs whose lease expired; less than lease-seconds (default 10).")
    var leaseRenewalSeconds = 10

    @Option(name: .customLong("public-url"), help: "The address people reach Posthorn at behind a proxy, e.g. https://posthorn.example.com (the web app's origin; https marks the session cookie Secure).")
    var publicURL: String?

    @Option(name: .customLong("dns-resolver"), help: "The DNS server Check DNS asks for a domain's DKIM, SPF and DMARC records, as HOST or HOST:PORT ([::1]:53 for IPv6); repeatable. Default: the servers of /etc/resolv.conf.")
    var dnsResolvers: [String] = []

    @Option(name: .customLong("trust-sns-certificate"), help: ArgumentHelp("Trust this PEM certificate for Amazon SNS signatures (the SES bounce intake) instead of fetching the one a message names — for tests and installations that cannot reach AWS.", valueName: "PEM-FILE"))
    var trustSNSCertificate: String?

    @Flag(name: .customLong("trust-forwarded-for"), help: "A proxy in front sets X-Forwarded-For: count sign-in failures by the address it saw.")
    var trustForwardedFor = false

    @Option(name: .customLong("metrics-host"), help: "Address of the /metrics listener (default 127.0.0.1).")
    var metricsHost = "127.0.0.1"

    @Option(name: .customLong("metrics-port"), help: "Port of the /metrics listener, Prometheus text format (default 9464; 0 turns it off).")
    var metricsPort = 9464

    func run() async throws {
        ServerProcess.ensureSafeCrashReports()
        ServerProcess.raiseOpenFileLimit()
        let level = logLevel.level
        let format = logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        var logger = Logger(label: "posthorn")
        logger.logLevel = level
        guard (1...65535).contains(port) else { CommandFailure.exit(with: CommandFailure(message: "port: must be between 1 and 65535")) }
        let environment: PosthornEnvironment
        let bootstrap: WorkspaceService.Bootstrap
        let setupToken: Secret?
        do {
            guard (1...36_500).contains(runRetentionDays), (1...10_000).contains(runConcurrency), (1...1_000).contains(attachmentLimitMB)
            else {
                throw CommandFailure(message: "run-retention-days must be 1 to 36500, run-concurrency 1 to 10000, attachment-limit-mb 1 to 1000")
            }
            guard workspaceConcurrency.map({ (1...runConcurrency).contains($0) }) ?? true else {
                throw CommandFailure(message: "workspace-concurrency must be 1 to run-concurrency (\(runConcurrency))")
            }
            guard (1...10_000).contains(maxRecipients), (0...1_000).contains(maxAttachments) else {
                throw CommandFailure(message: "max-recipients must be 1 to 10000, max-attachments 0 to 1000")
            }
            guard (1...3_600).contains(headerTimeoutSeconds), (1...3_600).contains(bodyTimeoutSeconds), (1...86_400).contains(idleTimeoutSeconds),
                (1...1_000_000).contains(maxConnections), (0...3_600).contains(shutdownGraceSeconds)
            else {
                throw CommandFailure(message: "header-timeout-seconds and body-timeout-seconds must be 1 to 3600, idle-timeout-seconds 1 to 86400, max-connections 1 to 1000000, shutdown-grace-seconds 0 to 3600")
            }
            guard (2...3_600).contains(leaseSeconds), (1...3_600).contains(leaseRenewalSeconds), leaseRenewalSeconds < leaseSeconds else {
                throw CommandFailure(message: "lease-seconds must be 2 to 3600, lease-renewal-seconds 1 to 3600 and less than lease-seconds")
            }
            var configuration = ServerConfiguration(
                dataDirectory: data.url, host: host, port: port, egressPolicy: try egressPolicy(flags: allowPrivateEgress),
                logLevel: level)
            configuration.runRetention = .seconds(Int64(runRetentionDays) * 86_400)
            configuration.runConcurrency = runConcurrency
            configuration.attachmentLimit = attachmentLimitMB * 1_000_000
            configuration.workspaceConcurrency = workspaceConcurrency
            configuration.emailLimits = EmailLimits(maximumRecipients: maxRecipients, maximumAttachments: maxAttachments)
            configuration.connectionLimits = HTTPConnectionLimits(
                headerTimeout: .seconds(headerTimeoutSeconds), bodyTimeout: .seconds(bodyTimeoutSeconds),
                idleTimeout: .seconds(idleTimeoutSeconds),
                maximumConnections: maxConnections)
            configuration.shutdownGrace = .seconds(shutdownGraceSeconds)
            configuration.lease = .seconds(leaseSeconds)
            configuration.leaseRenewal = .seconds(leaseRenewalSeconds)
            guard (0...65535).contains(metricsPort), metricsPort == 0 || metricsPort != port || metricsHost != host else {
                throw CommandFailure(message: "metrics-port must be 0 to 65535 and not the API's port")
            }
            if let publicURL {
                guard let url = URL(string: publicURL), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                    url.host?.isEmpty == false, url.path.isEmpty || url.path == "/", url.query == nil, url.user == nil
                else {
                    throw CommandFailure(message: "public-url must be an http:// or https:// address without a path, e.g. https://posthorn.example.com")
                }
                configuration.publicURL = url
            }
            configuration.trustsForwardedFor = trustForwardedFor
            configuration.postgresURL = data.postgresURL
            if let trustSNSCertificate {
                guard let pem = try? String(contentsOfFile: trustSNSCertificate, encoding: .utf8), pem.contains("-----BEGIN CERTIFICATE-----") else {
                    throw ValidationError("--trust-sns-certificate: \(trustSNSCertificate) is not a readable PEM certificate")
                }
                configuration.trustedSNSCertificate = pem
            }
            configuration.dnsServers = try dnsResolvers.map(Self.dnsServer)
            configuration.metricsHost = metricsHost
            configuration.metricsPort = metricsPort
            environment = try await PosthornEnvironment.open(configuration: configuration, logger: logger)
            bootstrap = try await environment.bootstrap()
            setupToken = try await environment.services.users.prepareSetup()
        } catch {
            CommandFailure.exit(with: error)
        }
        guard let execution = environment.claimExecution() else {
            try? await environment.close()
            CommandFailure.exit(with: CommandFailure(
                message: "dataDir: another posthorn serve (or flow run) is executing runs on \(data.url.path); run one server per data directory"))
        }
        defer { execution.release() }
        announce(bootstrap, setupToken: setupToken)
        let application = buildApplication(environment: environment, logger: logger)
        // SIGTERM/SIGINT start a graceful shutdown (in-flight requests finish, runs get their
        // grace, the pool says QUIT); whatever is still running after the grace and 20 s more is
        // cancelled, so no request or send can hold a stopping server for ever.
        var group = ServiceGroupConfiguration(services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(shutdownGraceSeconds + 20)
        group.maximumCancellationDuration = .seconds(10)
        do {
            try await ServiceGroup(configuration: group).run()
        } catch {
            try? await environment.close()
            CommandFailure.exit(with: error)
        }
        try await environment.close()
    }

    /// Prints where to open Posthorn and what first start created; these tokens are never shown
    /// again. Until the first account exists, each start prints a new one-time setup link (the
    /// one before stops working): only whoever reads this output can claim the instance.
    private func announce(_ bootstrap: WorkspaceService.Bootstrap, setupToken: Secret?) {
        let base = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        var lines = ["Posthorn data: \(data.url.path)", "Listening on http://\(host):\(port)", "Open Posthorn: \(base)/"]
        if let setupToken {
            lines.append("Set up the first account (one-time link): \(base)/setup#\(setupToken.revealedValue)")
        }
        if metricsPort != 0 { lines.append("Metrics on http://\(metricsHost):\(metricsPort)/metrics") }
        if let token = bootstrap.generatedAdminToken {
            lines.append("Admin API token (shown once, store it now): \(token.revealedValue)")
        }
        if let (workspace, token) = bootstrap.defaultWorkspace {
            lines.append("Workspace \"\(workspace.name)\" (\(workspace.id)) API token (shown once): \(token.revealedValue)")
        }
        // Written straight to the descriptor: the banner must reach a pipe before the server blocks.
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}

/// `--log-format`.
enum LogFormatOption: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

extension ServeCommand {

    /// `HOST`, `HOST:PORT` or `[IPv6]:PORT` of a DNS server (an IP address: the resolver itself
    /// cannot be looked up).
    static func dnsServer(_ text: String) throws -> (host: String, port: UInt16) {
        var host = text
        var port: UInt16 = 53
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let parsed = UInt16(rest.dropFirst()), parsed > 0 else {
                    throw CommandFailure(message: "dns-resolver: \(text) is not HOST:PORT")
                }
                port = parsed
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let parsed = UInt16(text[text.index(after: colon)...]), parsed > 0 else {
                throw CommandFailure(message: "dns-resolver: \(text) is not HOST:PORT")
            }
            port = parsed
        }
        guard IPAddress(host) != nil else {
            throw CommandFailure(message: "dns-resolver: \(host) must be an IP address")
        }
        return (host, port)
    }

}
