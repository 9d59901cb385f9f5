import ArgumentParser
import Flows
import Foundation
import Server
import Workspaces

/// `posthorn run list|show|cancel`: the run history, as `GET /api/v1/runs` and `/runs/{id}` show
/// it, and `POST /api/v1/runs/{id}/cancel`.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Inspect a workspace's run history, or cancel a run.",
        subcommands: [List.self, Show.self, Cancel.self])

    /// The statuses, as the `--status` help and its error name them.
    static let statusNames = RunStatus.allCases.map(\.rawValue).joined(separator: ", ")

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recent runs, newest first, as a JSON array.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Option(help: "Only runs of this flow (id).")
        var flow: String?

        @Option(help: "Only runs with this status: queued, waiting, running, succeeded, failed, ambiguous or cancelled.")
        var status: String?

        @Option(help: "How many (1–200, default 20).")
        var limit = 20

        func run() async throws {
            do {
                guard (1...200).contains(limit) else { throw CommandFailure(message: "limit: must be from 1 to 200") }
                let wanted = try status.map { text -> RunStatus in
                    guard let value = RunStatus(rawValue: text) else {
                        throw CommandFailure(message: "status: must be one of \(RunCommand.statusNames)")
                    }
                    return value
                }
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    let runs = try await environment.services.runStore.runs(
                        workspaceID: workspace.id, flowID: flow, status: wanted, limit: limit, before: nil)
                    return "[" + runs.map(JSONRendering.run).joined(separator: ",\n") + "]"
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

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

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a run: a queued one (or one waiting for a retry) at once, a running one after its current step.",
            discussion: "A step already under way finishes, and what it did stays recorded (an email past its final dot is sent). Prints the run.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "Run id.")
        var id: String

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    switch try await environment.services.runStore.requestCancellation(runID: id, workspaceID: workspace.id, now: Date()) {
                    case .cancelled(let run)?, .requested(let run)?:
                        return JSONRendering.run(run)
                    case .alreadyFinished(let run)?:
                        throw CommandFailure(message: "run: \(id) has already ended (\(run.status.rawValue)); there is nothing to cancel")
                    case nil:
                        throw CommandFailure(message: "run: no run \(id) in this workspace")
                    }
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }
}
