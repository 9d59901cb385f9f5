import ArgumentParser
import Foundation
import Server
import Workspaces

/// `posthorn workspace create NAME`: works on the data directory directly (a running server sees
/// the new workspace at once: they share the database).
struct WorkspaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workspace", abstract: "Manage workspaces.", subcommands: [Create.self])

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
}
