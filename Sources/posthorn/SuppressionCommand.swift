import ArgumentParser
import Foundation
import Server
import Workspaces

/// `posthorn suppression list|add|remove`: a workspace's suppression list, as the API shows it.
struct SuppressionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suppression", abstract: "Manage the addresses a workspace no longer sends to.",
        subcommands: [List.self, Add.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the suppressed addresses, newest first.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    return JSONRendering.suppressions(try await environment.services.suppressions.list(in: workspace.id))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suppress an address: sends leave it out of the envelope.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "The address, like ada@example.com.")
        var address: String

        @Option(help: "Why, for the others in the workspace.")
        var note: String?

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    let (suppression, _) = try await environment.services.suppressions.add(address, reason: .manual, detail: note, in: workspace.id)
                    return JSONRendering.suppression(suppression)
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send to an address again.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "The address.")
        var address: String

        func run() async throws {
            do {
                try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    try await environment.services.suppressions.remove(address, in: workspace.id)
                }
                print("removed \(address)")
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }
}
