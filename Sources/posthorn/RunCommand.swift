import ArgumentParser
import Flows
import Server
import Workspaces

/// `posthorn run show`: a run from the history, as `GET /api/v1/runs/{id}` shows it.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Inspect a workspace's run history.", subcommands: [Show.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one run: its trigger, each step and how it ended.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "Run id.")
        var id: String

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    guard let run = try await environment.services.runStore.run(id: id, workspaceID: workspace.id) else {
                        throw CommandFailure(message: "run: no run \(id) in this workspace")
                    }
                    return JSONRendering.run(run)
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }
}
