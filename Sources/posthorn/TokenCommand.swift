import ArgumentParser
import Server
import Workspaces

/// `posthorn token create|list|revoke`: a workspace's API tokens, as `/api/v1/tokens` manages them.
/// Rotating a token is creating its successor, switching the caller over, and revoking the old one.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Manage a workspace's API tokens.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API token and print it (shown once).")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "What the token is for, e.g. \"CRM sync\".")
        var name: String

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    let (token, value) = try await environment.services.workspaces.createToken(name: name, in: workspace.id)
                    return JSONRendering.token(token, value: value)
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the workspace's API tokens (names and last use, never values).")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    return JSONRendering.tokens(try await environment.services.workspaces.tokens(in: workspace.id))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API token: requests with it are refused from now on.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "Token id (tok_…).")
        var id: String

        func run() async throws {
            do {
                try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    try await environment.services.workspaces.revokeToken(id, in: workspace.id)
                }
                print("revoked \(id)")
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }
}
