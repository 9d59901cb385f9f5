import ArgumentParser
import Foundation
import Secrets
import Server
import SMTP
import SMTPCore
import Workspaces

/// `posthorn credential add|list|show|test|limits|delete`: the same rules and JSON as the API, working on
/// the data directory directly.
struct CredentialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credential", abstract: "Manage a workspace's SMTP credentials.",
        subcommands: [Add.self, List.self, Show.self, Test.self, Limits.self, Delete.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store an SMTP credential (the password is read from a variable or a file, never a flag).")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Option(help: "Internal label, e.g. \"Marketing — SendGrid\".")
        var name: String

        @Option(help: "SMTP server host name or IP address.")
        var host: String

        @Option(help: "Port (587 STARTTLS, 465 implicit TLS; 25 is refused). Default from --security.")
        var port: String?

        @Option(help: "Login name.")
        var username: String?

        @Option(name: .customLong("password-env"), help: "Read the password from this environment variable.")
        var passwordEnvironmentVariable: String?

        @Option(name: .customLong("password-file"), help: "Read the password from this file (one trailing newline is ignored).")
        var passwordFile: String?

        @Option(name: .customLong("security"), help: "implicit-tls, starttls (default) or plaintext.")
        var securityOption: SecurityOption = .startTLS

        @Flag(name: .customLong("accept-unverified-certs"), help: "Accept self-signed or mismatched certificates.")
        var acceptUnverifiedCertificates = false

        @Option(name: .customLong("min-tls"), help: "Minimum TLS version: 1.2 (default) or 1.3.")
        var minimumTLS: MinimumTLSOption = .tls12

        @Option(name: .customLong("ehlo-name"), help: "Client identifier for EHLO.")
        var ehloName: String?

        @Option(name: .customLong("ca-file"), help: "PEM file of CA certificates trusted in addition to the system's.")
        var caFile: String?

        @OptionGroup var limits: RateLimitOptions

        @Flag(name: .customLong("no-delivery-notifications"), help: "Do not ask servers for delivery status notifications (DSN); asked by default.")
        var noDeliveryNotifications = false

        func run() async throws {
            do {
                var input = CredentialInput(
                    name: name, host: host, port: try port.map { text throws(SMTPConfigurationError) in try SMTPConfiguration.parsePort(text) },
                    username: .some(username),
                    password: .some(try PasswordSource(environmentVariable: passwordEnvironmentVariable, file: passwordFile).read()),
                    security: securityOption.security, acceptUnverifiedCertificates: acceptUnverifiedCertificates,
                    minimumTLSVersion: minimumTLS.version, clientIdentifier: .some(ehloName),
                    caCertificate: .some(try caFile.map(readCAFile)))
                input.limits = .some(try limits.limits())
                input.deliveryNotifications = !noDeliveryNotifications
                let output = try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    return JSONRendering.credential(try await environment.services.credentials.create(input, in: workspace.id))
                }
                print(output)
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a workspace's credentials.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    return JSONRendering.credentials(try await environment.services.credentials.list(in: workspace.id))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one credential (never its password).")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "Credential name or id.")
        var credential: String

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    return JSONRendering.credential(try await environment.services.credentials.credential(credential, in: workspace.id))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect, negotiate TLS, EHLO and authenticate without sending mail. Exits 1 if it fails.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "Credential name or id.")
        var credential: String

        @Option(name: .customLong("allow-private-egress"), help: "Allow connecting to this private CIDR (repeatable). Also POSTHORN_ALLOW_PRIVATE_EGRESS.")
        var allowPrivateEgress: [String] = []

        func run() async throws {
            let result: ConnectionTestResult
            do {
                result = try await data.withEnvironment(egress: try egressPolicy(flags: allowPrivateEgress)) { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    let stored = try await environment.services.credentials.credential(credential, in: workspace.id)
                    return try await environment.services.connectionTester.test(stored)
                }
            } catch {
                CommandFailure.exit(with: error)
            }
            print(JSONRendering.testResult(result))
            if !result.ok { Foundation.exit(1) }
        }
    }

    struct Limits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set how fast a credential's sends may go (replacing its limits; none given removes them).",
            discussion: "A send over a limit waits (its run shows waiting) rather than fail. Prints the credential.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "Credential name or id.")
        var credential: String

        @OptionGroup var limits: RateLimitOptions

        func run() async throws {
            do {
                var input = CredentialInput()
                input.limits = .some(try limits.limits())
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    return JSONRendering.credential(try await environment.services.credentials.update(credential, in: workspace.id, with: input))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a credential.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "Credential name or id.")
        var credential: String

        func run() async throws {
            do {
                try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    try await environment.services.credentials.delete(credential, in: workspace.id)
                }
                print("deleted \(credential)")
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }
}

/// Where a password comes from on the command line: a variable or a file, never a flag (flags end
/// up in shell history and `ps`).
struct PasswordSource {
    var environmentVariable: String?
    var file: String?

    func read() throws -> Secret? {
        switch (environmentVariable, file) {
        case (nil, nil):
            return nil
        case (_?, _?):
            throw CommandFailure(message: "password: give --password-env or --password-file, not both")
        case (let variable?, nil):
            guard let value = ProcessInfo.processInfo.environment[variable] else {
                throw CommandFailure(message: "password: the environment variable \(variable) is not set")
            }
            return Secret(value)
        case (nil, let path?):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandFailure(message: "password: the password file cannot be read")
            }
            var value = String(decoding: data, as: UTF8.self)
            if value.hasSuffix("\r\n") { value.removeLast(2) } else if value.hasSuffix("\n") { value.removeLast() }
            return Secret(value)
        }
    }
}

/// Reads a PEM bundle for `--ca-file`.
func readCAFile(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CommandFailure(message: "caCertificate: the CA file cannot be read")
    }
    return String(decoding: data, as: UTF8.self)
}

/// `--per-second`, `--per-minute`, `--per-hour`, `--per-day`, `--count`: a credential's limits.
struct RateLimitOptions: ParsableArguments {
    @Option(name: .customLong("per-second"), help: "At most this many messages (or recipients) in any second.")
    var perSecond: Int?
    @Option(name: .customLong("per-minute"), help: "At most this many in any minute.")
    var perMinute: Int?
    @Option(name: .customLong("per-hour"), help: "At most this many in any hour.")
    var perHour: Int?
    @Option(name: .customLong("per-day"), help: "At most this many in any 24 hours (Gmail 500, Google Workspace 2000 recipients).")
    var perDay: Int?
    @Option(name: .customLong("count"), help: "What the limits count: messages (default) or recipients (SES, Google Workspace).")
    var counts: String?

    /// The limits given; `nil` when none is.
    func limits() throws -> RateLimits? {
        var limits = RateLimits(perSecond: perSecond, perMinute: perMinute, perHour: perHour, perDay: perDay)
        if let counts {
            guard let unit = RateLimits.Unit(rawValue: counts) else {
                throw CommandFailure(message: "limits.counts: Counts must be messages or recipients")
            }
            limits.counts = unit
        }
        return limits.isEmpty ? nil : limits
    }
}
