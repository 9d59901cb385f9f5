import ArgumentParser
import Foundation
import Server
import Workspaces

/// `posthorn workspace create NAME` and `posthorn workspace limits NAME`: work on the data directory directly (a running server sees
/// the new workspace at once: they share the database).
struct WorkspaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workspace", abstract: "Manage workspaces.", subcommands: [Create.self, Limits.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a workspace and print its API token (shown once).")

        @OptionGroup var data: DataOptions

        @Argument(help: "The workspace name.")
        var name: String

        func run() async throws {
            do {
                let output = try await data.withEnvironment { environment in
                    let (workspace, token) = try await environment.services.workspaces.create(name: name)
                    try await environment.services.users.workspaceCreated(workspace, by: nil)
                    return JSONRendering.createdWorkspace(workspace, token: token)
                }
                print(output)
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Limits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a cap on every send of a workspace, whatever the credential (none given removes it).",
            discussion: "A send over the cap waits (its run shows waiting) rather than fail; a running server holds to it from its next send. Prints the workspace.")

        @OptionGroup var data: DataOptions

        @Argument(help: "Workspace name or id.")
        var workspace: String

        @OptionGroup var limits: RateLimitOptions

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let found = try await WorkspaceOption.resolve(workspace, in: environment)
                    return JSONRendering.workspace(try await environment.services.workspaces.setLimits(try limits.limits(), in: found.id))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }
}
