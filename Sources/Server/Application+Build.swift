public import Hummingbird
public import Logging

/// The Hummingbird application over an opened environment, listening where the configuration says,
/// with the flow engine's services in its service group. `runService()` handles SIGTERM and SIGINT:
/// the server stops accepting and finishes in-flight requests, then the engine's services stop in
/// reverse order (the executor finishes its runs while the writer still commits).
public func buildApplication(environment: PosthornEnvironment, logger: Logger) -> some ApplicationProtocol {
    Application(
        router: buildRouter(services: environment.services),
        configuration: ApplicationConfiguration(
            address: .hostname(environment.configuration.host, port: environment.configuration.port),
            serverName: "posthorn"),
        services: environment.engine.services,
        logger: logger)
}
