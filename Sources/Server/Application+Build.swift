public import Hummingbird
import HummingbirdCore
import Workspaces
public import Logging

/// The Hummingbird application over an opened environment, listening where the configuration says,
/// with the flow engine's services in its service group. `runService()` handles SIGTERM and SIGINT:
/// the server stops accepting and finishes in-flight requests, then the engine's services stop in
/// reverse order (the executor finishes its runs while the writer still commits).
///
/// The HTTP server enforces ``ServerConfiguration/connectionLimits``: a head read timeout, an idle
/// timeout and a cap on open connections.
public func buildApplication(environment: PosthornEnvironment, logger: Logger) -> some ApplicationProtocol {
    let configuration = environment.configuration
    let limits = configuration.connectionLimits
    var services = environment.engine.services
    let users = environment.services.users
    // Sessions past their idle or absolute limit are refused when used; this deletes them.
    services.append(TaskService(name: "session-cleanup") {
        while !Task.isCancelled {
            do {
                let deleted = try await users.deleteExpiredSessions()
                if deleted > 0 { logger.debug("expired sessions deleted", metadata: ["posthorn.sessions.count": "\(deleted)"]) }
            } catch {
                logger.warning("deleting expired sessions failed", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await Task.sleep(for: .seconds(3600))
        }
    })
    if configuration.metricsPort != 0 {
        services.append(MetricsEndpoint(
            host: configuration.metricsHost, port: configuration.metricsPort, registry: configuration.metricsRegistry,
            runs: environment.services.runStore, logger: logger))
    }
    return Application(
        router: buildRouter(services: environment.services),
        server: limits.serverBuilder(),
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: "posthorn",
            availableConnectionsDelegate: MaximumAvailableConnections(limits.maximumConnections, logger: logger)),
        services: services,
        logger: logger)
}
