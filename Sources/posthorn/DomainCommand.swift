import ArgumentParser
import Foundation
import Secrets
import Server
import Workspaces

/// `posthorn domain add|list|show|activate|remove-key|delete`: a workspace's sending domains and
/// their DKIM keys, with the same rules and JSON as the API, on the data directory directly.
struct DomainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domain", abstract: "Manage a workspace's sending domains and their DKIM keys.",
        subcommands: [Add.self, List.self, Show.self, Activate.self, RemoveKey.self, Delete.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a DKIM key to a domain (creating the domain): generated, or imported from a PEM file.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Option(help: "The domain mail is sent from, e.g. example.com.")
        var domain: String

        @Option(help: "The key's selector: its DNS record is SELECTOR._domainkey.DOMAIN.")
        var selector: String

        @Option(help: "rsa-sha256 (default; 2048-bit RSA) or ed25519-sha256.")
        var algorithm: String?

        @Option(name: .customLong("private-key-file"), help: "Import this PEM private key instead of generating one.")
        var privateKeyFile: String?

        func run() async throws {
            do {
                let pem = try privateKeyFile.map { path in
                    do {
                        return Secret(try String(contentsOfFile: path, encoding: .utf8))
                    } catch {
                        throw CommandFailure(message: "private-key-file: \(path) could not be read")
                    }
                }
                let input = DomainKeyInput(domain: domain, selector: selector, algorithm: algorithm, privateKey: pem)
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    return JSONRendering.domain(try await environment.services.domains.addKey(input, in: workspace.id))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a workspace's domains with their keys and DNS records.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    return JSONRendering.domains(try await environment.services.domains.list(in: workspace.id))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a domain: its keys, the DNS records to publish, and the SPF and DMARC records recommended.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "The domain's id or name.")
        var domain: String

        @Option(help: "Write the SPF recommendation for this credential (id or name).")
        var credential: String?

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    var stored: SMTPCredential?
                    if let credential { stored = try await environment.services.credentials.credential(credential, in: workspace.id) }
                    return JSONRendering.domain(
                        try await environment.services.domains.domain(domain, in: workspace.id), credential: stored)
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a key the one that signs for its algorithm (the one it replaces stays, inactive).")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "The domain's id or name.")
        var domain: String

        @Argument(help: "The key's id or selector.")
        var key: String

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    let domains = environment.services.domains
                    let stored = try await domains.domain(domain, in: workspace.id)
                    return JSONRendering.domain(try await domains.activate(keyID: try Self.keyID(key, of: stored), domainID: stored.id, in: workspace.id))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }

        static func keyID(_ idOrSelector: String, of domain: SendingDomain) throws -> String {
            guard let key = domain.keys.first(where: { $0.id == idOrSelector || $0.selector == idOrSelector.lowercased() }) else {
                throw CommandFailure(message: "key: \(domain.name) has no key \(idOrSelector)")
            }
            return key.id
        }
    }

    struct RemoveKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove-key", abstract: "Remove one key of a domain.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "The domain's id or name.")
        var domain: String

        @Argument(help: "The key's id or selector.")
        var key: String

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    let domains = environment.services.domains
                    let stored = try await domains.domain(domain, in: workspace.id)
                    return JSONRendering.domain(
                        try await domains.removeKey(keyID: try Activate.keyID(key, of: stored), domainID: stored.id, in: workspace.id))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a domain and all its keys.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "The domain's id or name.")
        var domain: String

        func run() async throws {
            do {
                try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    try await environment.services.domains.delete(domain, in: workspace.id)
                }
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }
}
