import ArgumentParser
import Flows
import Foundation
import Logging
import SMTP
import Server
import Workspaces

/// `posthorn flow create|list|show|run`: the same rules and JSON as the API, working on the data
/// directory directly.
struct FlowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flow", abstract: "Create, list, show and run a workspace's flows.",
        subcommands: [Create.self, List.self, Show.self, Start.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a flow from a JSON file (the body of POST /api/v1/flows); prints the flow.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Option(name: [.customShort("f"), .customLong("file")], help: "The flow as JSON; - reads standard input.")
        var file: String

        func run() async throws {
            do {
                let definition = try FlowBody.definition(from: try readFlowFile(file))
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    return JSONRendering.flow(try await environment.services.flows.create(definition, in: workspace.id))
                })
            } catch let error as APIError {
                CommandFailure.exit(with: CommandFailure(error))
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a workspace's flows.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    return JSONRendering.flows(try await environment.services.flowStore.flows(workspaceID: workspace.id))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one flow (id or name), as the API does.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "Flow id or name.")
        var flow: String

        func run() async throws {
            do {
                print(try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    return JSONRendering.flow(try await FlowCommand.resolve(flow, in: workspace.id, environment: environment))
                })
            } catch {
                CommandFailure.exit(with: error)
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a flow now, in this process, and print the finished run. Exits 1 unless it succeeded.")

        @OptionGroup var data: DataOptions
        @OptionGroup var workspace: WorkspaceOption

        @Argument(help: "Flow id or name.")
        var flow: String

        @Option(help: "A JSON object standing in for the trigger's body ({{trigger.body…}}). Default: {}.")
        var body: String?

        @Option(name: .customLong("wait-seconds"), help: "How long to wait for the run to end (1–86400).")
        var waitSeconds = 30

        func run() async throws {
            let outcome: InProcessRun.Outcome
            do {
                guard (1...86_400).contains(waitSeconds) else {
                    throw CommandFailure(message: "waitSeconds: must be from 1 to 86400")
                }
                let payload = TriggerPayload(kind: "manual", body: try Self.parseBody(body))
                outcome = try await data.withEnvironment { environment in
                    let workspace = try await workspace.resolve(in: environment)
                    let flow = try await FlowCommand.resolve(flow, in: workspace.id, environment: environment)
                    // A draft runs too, as Run in the studio does, once it has no problems.
                    let problems = environment.services.flows.problems(of: flow)
                    guard problems.isEmpty else { throw FlowProblems(problems: problems) }
                    return try await InProcessRun(environment: environment)
                        .execute(flow, payload: payload, timeout: .seconds(waitSeconds))
                }
            } catch {
                CommandFailure.exit(with: error)
            }
            print(JSONRendering.run(outcome.run))
            if !outcome.run.isFinished {
                FileHandle.standardError.write(Data(
                    "error: run \(outcome.run.id) did not end within \(waitSeconds) s (still \(outcome.run.status.rawValue)); a server on this data directory will finish it\n".utf8))
            }
            if outcome.run.status != .succeeded { Foundation.exit(1) }
        }

        static func parseBody(_ text: String?) throws -> JSONValue {
            guard let text else { return .object([:]) }
            let value: JSONValue
            do {
                value = try JSONValue(parsing: text)
            } catch {
                throw CommandFailure(message: "body: not valid JSON: \(error)")
            }
            guard case .object = value else { throw CommandFailure(message: "body: must be a JSON object") }
            return value
        }
    }

    /// A flow of the workspace by id, else by name.
    static func resolve(_ reference: String, in workspaceID: String, environment: PosthornEnvironment) async throws -> Flow {
        let store = environment.services.flowStore
        if let flow = try await store.flow(id: reference, workspaceID: workspaceID) { return flow }
        if let flow = try await store.flows(workspaceID: workspaceID).first(where: { $0.name == reference }) { return flow }
        throw CommandFailure(message: "flow: no flow \(reference) in this workspace")
    }
}

/// Starts one run and waits for it. When no server is executing runs on this data directory, the
/// command takes the executor role itself (writer, SMTP pool and executor in this process) until
/// the run ends; when a server is, the server executes it and the command only waits.
struct InProcessRun {
    struct Outcome {
        /// Finished, or as far as it got when the time ran out.
        var run: Run
    }

    let environment: PosthornEnvironment

    func execute(_ flow: Flow, payload: TriggerPayload, timeout: Duration) async throws -> Outcome {
        var logger = Logger(label: "posthorn.flow-run")
        logger.logLevel = .error
        let services = environment.services
        let engine = environment.engine
        let execution = environment.claimExecution()
        defer { execution?.release() }
        // Groups nest so they stop in order: the executor first (finishing its runs), then the
        // writer (committing what is left) and the pool.
        return try await withThrowingTaskGroup(of: Void.self) { outer in
            outer.addTask { await engine.writer.run() }
            if execution != nil { outer.addTask { await engine.pool.run() } }
            defer { outer.cancelAll() }
            return try await withThrowingTaskGroup(of: Void.self) { inner in
                var executor: FlowExecutor?
                if execution != nil {
                    var configuration = FlowExecutor.Configuration()
                    configuration.recoverAllRunningAtStart = false
                    let local = FlowExecutor(
                        flows: services.flowStore, runs: services.runStore, writer: engine.writer,
                        processor: RunProcessor(registry: services.flows.registry, now: { Date() }, jitter: { Double.random(in: 0..<1) }),
                        configuration: configuration, logger: logger)
                    inner.addTask { await local.run() }
                    executor = local
                }
                defer {
                    executor?.stop()
                }
                let started = try await services.flows.start(flow, payload: payload)
                executor?.wake()
                let outcome = Outcome(run: try await waitForEnd(of: started, timeout: timeout))
                executor?.stop()
                try await inner.waitForAll()
                return outcome
            }
        }
    }

    /// Polls the history until the run has ended or `timeout` has passed.
    private func waitForEnd(of run: Run, timeout: Duration) async throws -> Run {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var latest = run
        while true {
            if let stored = try await environment.services.runStore.run(id: run.id, workspaceID: run.workspaceID) {
                latest = stored
            }
            if latest.isFinished || clock.now >= deadline { return latest }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension CommandFailure {
    /// An API refusal as the CLI prints it: `field: message`.
    init(_ error: APIError) {
        self.init(message: error.field.map { "\($0): \(error.message)" } ?? error.message)
    }
}

/// The flow document, from a file or (`-`) standard input.
func readFlowFile(_ path: String) throws -> Data {
    if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CommandFailure(message: "file: \(path) cannot be read")
    }
    return data
}
