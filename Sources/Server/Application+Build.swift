public import Hummingbird
public import Logging

/// The Hummingbird application over an opened environment, listening where the configuration says.
/// Hummingbird's `runService()` handles SIGTERM and SIGINT: the server stops accepting, finishes
/// in-flight requests and returns.
public func buildApplication(environment: PosthornEnvironment, logger: Logger) -> some ApplicationProtocol {
    Application(
        router: buildRouter(services: environment.services),
        configuration: ApplicationConfiguration(
            address: .hostname(environment.configuration.host, port: environment.configuration.port),
            serverName: "posthorn"),
        logger: logger)
}
