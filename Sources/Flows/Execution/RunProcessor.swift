public import Foundation
public import Logging

/// Runs one claimed run's steps from where it stopped, and decides what becomes of it: the pure
/// heart of the executor, with time, jitter and persistence passed in.
public struct RunProcessor: Sendable {
    public let registry: NodeRegistry
    public let now: @Sendable () -> Date
    /// A value in [0, 1) for backoff jitter.
    public let jitter: @Sendable () -> Double

    public init(registry: NodeRegistry, now: @escaping @Sendable () -> Date, jitter: @escaping @Sendable () -> Double) {
        self.registry = registry
        self.now = now
        self.jitter = jitter
    }

    /// Executes `run` (status `running`) against `flow` until it ends or must wait for a retry.
    /// `checkpoint` durably writes progress before a step that is not idempotent starts, so a crash
    /// during it is recognised on restart. Returns the run to save: finished, or queued for later.
    ///
    /// ## Resuming, and binary outputs
    ///
    /// A step that finished earlier (succeeded, or failed with `onError: continue`) is not run
    /// again: its recorded output is what later steps read. The exception is binary data. A
    /// step's output may hold ``JSONValue/bytes(_:)``, which later steps of the same execution read
    /// from memory; the store writes only a summary of it, so when the run comes back from storage
    /// (a transient retry, crash recovery) that output has lost its content. Such a step (the first
    /// of them is where the run resumes) runs again so that no later step ever receives a summary
    /// where it expected bytes. Finished steps after it whose outputs survived intact keep their
    /// records and are not repeated, since a step that is not idempotent (a sent email) must not
    /// happen twice; a step that was waiting to retry keeps its attempt count.
    public func process(
        _ run: Run, flow: Flow?, logger: Logger, checkpoint: @Sendable (Run) async throws -> Void
    ) async -> Run {
        var run = run
        guard let flow else {
            return finish(run, .failed, RunError(code: "EFLOW", message: "The flow was deleted before the run started"))
        }
        var outputs: [String: JSONValue] = [:]
        var index = 0
        while index < flow.steps.count {
            let step = flow.steps[index]
            let previous = run.steps.count > index ? run.steps[index] : nil
            if let previous, previous.stepID != step.id || previous.type != step.type {
                // The flow was edited while the run waited: its records no longer line up with the
                // steps, and guessing could repeat an email. End it; a new run uses the new flow.
                return finish(run, .failed, RunError(
                    code: "EFLOWCHANGED",
                    message: "The flow changed while this run waited for a retry; its finished steps no longer match (step \(index) is now \(step.id))"))
            }
            if let previous, let output = Self.survivingOutput(of: previous) {
                outputs[previous.stepID] = output
                index += 1
                continue
            }
            if let previous, previous.status == .succeeded || previous.status == .failed,
                let node = registry.node(type: step.type), !node.isIdempotent(previous.parameters ?? .object([:]))
            {
                // Its binary output was not kept across the retry, and running it again could repeat
                // an effect (a POST).
                return finish(run, .failed, RunError(
                    code: "ERESUME",
                    message: "Step \(step.id) produced binary data, which is not kept across a retry, and is not safe to run again; start a new run",
                    stepID: step.id))
            }
            let attempt = (previous?.status == .retrying ? previous!.attempts : 0) + 1
            var logger = logger
            logger[metadataKey: "posthorn.step.id"] = "\(step.id)"
            guard let node = registry.node(type: step.type) else {
                record(&run, at: index, StepRecord(
                    stepID: step.id, type: step.type, status: .failed, parameters: nil, output: nil,
                    error: RunError(code: "ENODE", message: "Unknown node type \(step.type)", stepID: step.id),
                    attempts: attempt, startedAt: now(), finishedAt: now()))
                return finish(run, .failed, run.steps[index].error, endingAt: index)
            }
            let started = now()
            let scope = TemplateScope(
                triggerBody: run.trigger.body, triggerHeaders: run.trigger.headers, triggerQuery: run.trigger.query,
                stepOutputs: outputs, runID: run.id, now: started)
            let parameters: JSONValue
            do {
                try Self.checkInsertions(step.parameters, descriptor: node.descriptor, scope: scope)
                parameters = try ParameterTemplate(parsing: step.parameters, name: "parameters").render(in: scope)
            } catch {
                let failure = NodeError(code: "ETEMPLATE", message: "\(error)", disposition: .permanent)
                switch conclude(&run, step: step, at: index, failure: failure, parameters: nil, attempt: attempt, started: started, outputs: &outputs, retry: flow.retry) {
                case .next: index += 1; continue
                case .end(let ended): return ended
                }
            }
            let recorded = node.forHistory(parameters: parameters, output: nil).parameters
            if !node.isIdempotent(parameters) {
                record(&run, at: index, StepRecord(
                    stepID: step.id, type: step.type, status: .running, parameters: recorded, output: nil, error: nil,
                    attempts: attempt, startedAt: started, finishedAt: nil))
                do {
                    try await checkpoint(run)
                } catch {
                    // Not recorded as started, so not started: try the whole step later.
                    return requeue(run, at: index, step: step, attempt: attempt - 1, parameters: recorded, started: started,
                                   error: RunError(code: "ESTORE", message: "Progress could not be saved", stepID: step.id),
                                   retry: flow.retry)
                }
            }
            let context = NodeContext(
                parameters: parameters, stepOutputs: outputs, workspaceID: run.workspaceID, flowID: flow.id, runID: run.id,
                stepID: step.id, attempt: attempt, logger: logger)
            do {
                let output = try await node.execute(context)
                record(&run, at: index, StepRecord(
                    stepID: step.id, type: step.type, status: .succeeded, parameters: recorded,
                    output: node.forHistory(parameters: parameters, output: output).output, error: nil,
                    attempts: attempt, startedAt: started, finishedAt: now()))
                outputs[step.id] = output
                index += 1
            } catch {
                switch conclude(&run, step: step, at: index, failure: error, parameters: recorded, attempt: attempt, started: started, outputs: &outputs, retry: flow.retry) {
                case .next: index += 1
                case .end(let ended): return ended
                }
            }
        }
        return finish(run, .succeeded, nil)
    }

    // MARK: Outcomes

    private enum Conclusion {
        case next
        case end(Run)
    }

    /// A step failed: retry later (transient, attempts left), record and go on (`onError: continue`),
    /// or end the run (failed, or ambiguous: never retried, never continued past).
    private func conclude(
        _ run: inout Run, step: FlowStep, at index: Int, failure: NodeError, parameters: JSONValue?, attempt: Int,
        started: Date, outputs: inout [String: JSONValue], retry: RetryPolicy
    ) -> Conclusion {
        let error = RunError(code: failure.code, message: failure.message, stepID: step.id, details: failure.details)
        switch failure.disposition {
        case .ambiguous:
            record(&run, at: index, StepRecord(
                stepID: step.id, type: step.type, status: .ambiguous, parameters: parameters, output: nil, error: error,
                attempts: attempt, startedAt: started, finishedAt: now()))
            return .end(finish(run, .ambiguous, error, endingAt: index))
        case .transient where attempt < retry.maxAttempts:
            return .end(requeue(run, at: index, step: step, attempt: attempt, parameters: parameters, started: started, error: error, retry: retry))
        case .transient, .permanent:
            let output: JSONValue = .object(["error": .object(["code": .string(failure.code), "message": .string(failure.message)])])
            record(&run, at: index, StepRecord(
                stepID: step.id, type: step.type, status: .failed, parameters: parameters,
                output: step.onError == .continue ? output : nil, error: error,
                attempts: attempt, startedAt: started, finishedAt: now()))
            guard step.onError == .continue else { return .end(finish(run, .failed, error, endingAt: index)) }
            outputs[step.id] = output
            return .next
        }
    }

    /// Back to the queue until the backoff has passed; the step's record says which attempt failed.
    private func requeue(
        _ run: Run, at index: Int, step: FlowStep, attempt: Int, parameters: JSONValue?, started: Date, error: RunError,
        retry: RetryPolicy
    ) -> Run {
        var run = run
        record(&run, at: index, StepRecord(
            stepID: step.id, type: step.type, status: .retrying, parameters: parameters, output: nil, error: error,
            attempts: attempt, startedAt: started, finishedAt: now()))
        let delay = retry.delay(afterAttempt: max(attempt, 1), jitter: 0.5 + jitter() / 2)
        run.status = .queued
        run.notBefore = now().addingTimeInterval(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
        run.leaseOwner = nil
        run.leaseExpiresAt = nil
        return run
    }

    /// Ends the run. `endingAt` is the step that ended it, when one did: records after it that had
    /// not finished (a retry that was waiting while an earlier step ran again) are dropped, since
    /// they will never happen.
    private func finish(_ run: Run, _ status: RunStatus, _ error: RunError?, endingAt index: Int? = nil) -> Run {
        var run = run
        if let index, index + 1 < run.steps.count {
            let later = run.steps[(index + 1)...].filter { Self.isFinished($0) }
            run.steps.replaceSubrange((index + 1)..., with: later)
        }
        run.status = status
        run.error = error
        run.finishedAt = now()
        run.leaseOwner = nil
        run.leaseExpiresAt = nil
        return run
    }

    /// Writes the record of the step at `index`, replacing an earlier one. Records after it stay:
    /// there are some only when this step ran again to recover lost binary output, and those
    /// steps' outcomes still stand.
    private func record(_ run: inout Run, at index: Int, _ record: StepRecord) {
        if index < run.steps.count {
            run.steps[index] = record
        } else {
            run.steps.append(record)
        }
    }

    // MARK: Resuming

    /// Whether a step's record is final: it succeeded, or failed and the run went on.
    private static func isFinished(_ record: StepRecord) -> Bool {
        switch record.status {
        case .succeeded, .failed: true
        case .running, .retrying, .ambiguous: false
        }
    }

    /// The output later steps read from a finished step's record, or `nil` when the step must run
    /// (again): it has not finished, or its output held bytes that storage kept only a summary of.
    static func survivingOutput(of record: StepRecord) -> JSONValue? {
        guard isFinished(record) else { return nil }
        let output = record.output ?? .null
        return output.containsBinarySummary ? nil : output
    }

    // MARK: Crash recovery

    /// What becomes of a run found `running` after its worker died: a step that is not idempotent
    /// and had started may have done its work, so the run ends ambiguous; anything else is queued
    /// again and resumes after its last finished step.
    public func recover(_ run: Run) -> Run {
        var run = run
        if let index = run.steps.firstIndex(where: { $0.status == .running }) {
            let stepID = run.steps[index].stepID
            let error = RunError(
                code: "EINTERRUPTED",
                message: "The server stopped while step \(stepID) was running; it may or may not have completed",
                stepID: stepID)
            run.steps[index].status = .ambiguous
            run.steps[index].error = error
            run.steps[index].finishedAt = now()
            return finish(run, .ambiguous, error, endingAt: index)
        }
        run.status = .queued
        run.notBefore = now()
        run.leaseOwner = nil
        run.leaseExpiresAt = nil
        return run
    }

    /// Enforces ``NodeParameter/insertionForbids``: a value inserted among literal text (not a
    /// whole-parameter placeholder) may not carry the characters the parameter forbids there.
    static func checkInsertions(_ parameters: JSONValue, descriptor: NodeDescriptor, scope: TemplateScope) throws(ParameterTemplateError) {
        guard case .object(let values) = parameters else { return }
        for parameter in descriptor.parameters {
            guard let forbids = parameter.insertionForbids, case .string(let text)? = values[parameter.name],
                text.contains("{{")
            else { continue }
            do {
                try Template(parsing: text).checkInsertions(in: scope, forbidding: Set(forbids))
            } catch {
                throw ParameterTemplateError(parameterPath: "parameters.\(parameter.name)", error: error)
            }
        }
    }
}
