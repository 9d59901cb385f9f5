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

    /// Executes `run` (status `running`) against `flow` until it ends, must wait for a retry, or is
    /// cancelled. Returns the run to save: finished, or queued for later.
    ///
    /// `checkpoint` durably writes the run's progress — the step about to start recorded `running`
    /// with its attempt — at every step boundary, and before the first step too when that step is
    /// not safe to repeat (the claim that started the run already counted it started), and answers
    /// whether a cancellation was requested meanwhile: then the step does not start and the run
    /// ends `cancelled`, keeping the records of the steps before it (an email already sent stays
    /// recorded as sent). A crash during a step is recognised on restart (see ``recover(_:)``).
    ///
    /// Every value the run makes is measured against ``RunLimits``: a rendered parameter or an
    /// output that is too large or too deep fails its step (`ETOOLARGE`, `ETOODEEP`), as does an
    /// output that would take the run's live values over their bound.
    ///
    /// ## Resuming, and binary outputs
    ///
    /// A step that finished earlier (succeeded, or failed with `onError: continue`) is not run
    /// again: its recorded output is what later steps read. The exception is data the history did
    /// not keep: binary data (``JSONValue/bytes(_:)``, which later steps of the same execution read
    /// from memory and the store writes only as a summary) and values larger than the history keeps
    /// (``RunLimits/maximumHistoryValueBytes``). When the run comes back from storage (a transient
    /// retry, crash recovery) such an output is gone, so that step (the first of them is where the
    /// run resumes) runs again and no later step ever receives a summary where it expected the
    /// value. Finished steps after it whose outputs survived intact keep their records and are not
    /// repeated, since a step that is not idempotent (a sent email) must not happen twice; a step
    /// that was waiting to retry keeps its attempt count.
    public func process(
        _ run: Run, flow: Flow?, logger: Logger, checkpoint: @Sendable (Run) async throws -> Bool
    ) async -> Run {
        var run = run
        guard let flow else {
            run.handle(.failed(RunError(code: "EFLOW", message: "The flow was deleted before the run started")), now: now())
            return run
        }
        var outputs: [String: JSONValue] = [:]
        var liveBytes = 0
        var index = 0
        // Steps started by this execution: a boundary after the first one is a checkpoint.
        var stepsRun = 0
        while index < flow.steps.count {
            let step = flow.steps[index]
            let previous = run.steps.count > index ? run.steps[index] : nil
            if let previous, previous.stepID != step.id || previous.type != step.type {
                // The flow was edited while the run waited: its records no longer line up with the
                // steps, and guessing could repeat an email. End it; a new run uses the new flow.
                return finish(run, .failed(RunError(
                    code: "EFLOWCHANGED",
                    message: "The flow changed while this run waited for a retry; its finished steps no longer match (step \(index) is now \(step.id))")))
            }
            if let previous, let output = Self.survivingOutput(of: previous) {
                outputs[previous.stepID] = output
                liveBytes += output.footprint.bytes
                index += 1
                continue
            }
            if let previous, previous.status == .succeeded || previous.status == .failed, !previous.isRepeatable {
                // Its output was not kept across the retry, and running it again could repeat an
                // effect (a POST). Whether it may run again was decided with its real parameters
                // when it ran: the history's copy may be a summary that no longer says (a POST
                // whose body was over 1 MB reads as a parameter-less request).
                return finish(run, .failed(RunError(
                    code: "ERESUME",
                    message: "Step \(step.id) produced binary data or a value too large for the history, which is not kept across a retry, and is not safe to run again; start a new run",
                    stepID: step.id)))
            }
            // A retry is the next attempt; a start after a crash repeats the attempt it interrupted.
            let attempt: Int
            switch previous?.status {
            case .retrying?: attempt = previous!.attempts + 1
            case .running?, .waiting?: attempt = previous!.attempts
            case nil, .succeeded?, .failed?, .ambiguous?: attempt = 1
            }
            var logger = logger
            logger[metadataKey: "posthorn.step.id"] = "\(step.id)"
            guard let node = registry.node(type: step.type) else {
                record(&run, at: index, StepRecord(
                    stepID: step.id, type: step.type, status: .failed, parameters: nil, output: nil,
                    error: RunError(code: "ENODE", message: "Unknown node type \(step.type)", stepID: step.id),
                    attempts: attempt, startedAt: now(), finishedAt: now()))
                return finish(run, .failed(run.steps[index].error!), endingAt: index)
            }
            let started = now()
            let scope = TemplateScope(
                triggerBody: run.trigger.body, triggerHeaders: run.trigger.headers, triggerQuery: run.trigger.query,
                stepOutputs: outputs, runID: run.id, now: started)
            let parameters: JSONValue
            do {
                try Self.checkInsertions(step.parameters, descriptor: node.descriptor, scope: scope)
                parameters = try ParameterTemplate(parsing: step.parameters, name: "parameters").render(in: scope)
                try Self.checkBounds(of: parameters, what: "parameters")
            } catch {
                let failure = (error as? NodeError) ?? Self.templateFailure(error)
                switch conclude(&run, step: step, at: index, failure: failure, parameters: nil, attempt: attempt, started: started, outputs: &outputs, retry: flow.retry) {
                case .next: index += 1; continue
                case .end(let ended): return ended
                }
            }
            let recorded = node.forHistory(parameters: parameters, output: nil).parameters.boundedForHistory()
            let repeatable = node.isIdempotent(parameters)
            record(&run, at: index, StepRecord(
                stepID: step.id, type: step.type, status: .running, parameters: recorded, output: nil, error: nil,
                attempts: attempt, isRepeatable: repeatable, startedAt: started, finishedAt: nil))
            var cancelRequested = false
            if stepsRun > 0 || !repeatable {
                run.handle(.progressSaved, now: started)
                do {
                    cancelRequested = try await checkpoint(run)
                } catch RunStoreError.unstorable(let reason) {
                    return unstorable(run, reason: reason)
                } catch {
                    // Not recorded as started, so not started: try the whole step later.
                    return requeue(run, at: index, step: step, attempt: attempt - 1, parameters: recorded, started: started,
                                   error: RunError(code: "ESTORE", message: "Progress could not be saved", stepID: step.id),
                                   retry: flow.retry)
                }
            }
            stepsRun += 1
            if cancelRequested {
                // The step never started: its record goes, the ones before it stay.
                run.steps.removeSubrange(index...)
                run.handle(.cancellationObserved, now: now())
                logger.debug("run cancelled before a step")
                return run
            }
            let context = NodeContext(
                parameters: parameters, stepOutputs: outputs, workspaceID: run.workspaceID, flowID: flow.id, runID: run.id,
                stepID: step.id, attempt: attempt, logger: logger)
            do throws(NodeError) {
                let output = try await node.execute(context)
                let size = try Self.checkBounds(of: output, what: "output")
                guard liveBytes + size <= RunLimits.maximumLiveBytes else {
                    throw NodeError(
                        code: "ETOOLARGE",
                        message: "The outputs of this run's steps would hold more than \(RunLimits.maximumLiveBytes / 1_000_000) MB at once",
                        disposition: .permanent)
                }
                record(&run, at: index, StepRecord(
                    stepID: step.id, type: step.type, status: .succeeded, parameters: recorded,
                    output: node.forHistory(parameters: parameters, output: output).output?.boundedForHistory(), error: nil,
                    attempts: attempt, isRepeatable: node.isIdempotent(parameters), startedAt: started, finishedAt: now()))
                outputs[step.id] = output
                liveBytes += size
                index += 1
            } catch {
                if Task.isCancelled && error.disposition != .ambiguous {
                    // The server is stopping and cut the step short: it did not fail, so its attempt
                    // does not count, and the run goes back to the queue for the next start. (After
                    // an email's final dot the failure is ambiguous and is concluded as such.)
                    return requeue(run, at: index, step: step, attempt: attempt - 1, parameters: recorded, started: started,
                                   error: RunError(code: "EINTERRUPTED", message: "The server stopped during this step; it runs again", stepID: step.id),
                                   retry: flow.retry)
                }
                switch conclude(&run, step: step, at: index, failure: error, parameters: recorded, attempt: attempt, started: started, outputs: &outputs, retry: flow.retry) {
                case .next: index += 1
                case .end(let ended): return ended
                }
            }
        }
        run.handle(.completed, now: now())
        return run
    }

    /// A template that could not render: `ETOOLARGE` when it outgrew its bound, else `ETEMPLATE`.
    static func templateFailure(_ error: any Error) -> NodeError {
        if let error = error as? ParameterTemplateError, case .tooLarge(let limit) = error.error {
            return NodeError(
                code: "ETOOLARGE", message: "\(error)", disposition: .permanent,
                details: .object(["limit": .integer(Int64(limit))]))
        }
        return NodeError(code: "ETEMPLATE", message: "\(error)", disposition: .permanent)
    }

    /// Checks a rendered parameter set or an output against ``RunLimits``; returns its size.
    @discardableResult
    static func checkBounds(of value: JSONValue, what: String) throws(NodeError) -> Int {
        let (size, depth) = value.footprint
        guard size <= RunLimits.maximumValueBytes else {
            throw NodeError(
                code: "ETOOLARGE", message: "The step's \(what) are larger than \(RunLimits.maximumValueBytes / 1_000_000) MB",
                disposition: .permanent, details: .object(["limit": .integer(Int64(RunLimits.maximumValueBytes))]))
        }
        guard depth <= RunLimits.maximumDepth else {
            throw NodeError(
                code: "ETOODEEP", message: "The step's \(what) are nested deeper than \(RunLimits.maximumDepth) levels",
                disposition: .permanent, details: .object(["limit": .integer(Int64(RunLimits.maximumDepth))]))
        }
        return size
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
        case .waiting:
            // Not started, so not an attempt: the same attempt runs at the reserved time.
            let until = failure.notBefore ?? now()
            record(&run, at: index, StepRecord(
                stepID: step.id, type: step.type, status: .waiting, parameters: parameters, output: nil, error: error,
                attempts: attempt, startedAt: started, finishedAt: nil))
            run.handle(.rateLimited(until: until), now: now())
            return .end(run)
        case .ambiguous:
            record(&run, at: index, StepRecord(
                stepID: step.id, type: step.type, status: .ambiguous, parameters: parameters, output: nil, error: error,
                attempts: attempt, startedAt: started, finishedAt: now()))
            return .end(finish(run, .ambiguous(error), endingAt: index))
        case .transient where attempt < retry.maxAttempts:
            return .end(requeue(run, at: index, step: step, attempt: attempt, parameters: parameters, started: started, error: error, retry: retry))
        case .transient, .permanent:
            let output: JSONValue = .object(["error": .object(["code": .string(failure.code), "message": .string(failure.message)])])
            record(&run, at: index, StepRecord(
                stepID: step.id, type: step.type, status: .failed, parameters: parameters,
                output: step.onError == .continue ? output : nil, error: error,
                attempts: attempt, startedAt: started, finishedAt: now()))
            guard step.onError == .continue else { return .end(finish(run, .failed(error), endingAt: index)) }
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
        run.handle(.retryScheduled(notBefore: now().addingTimeInterval(delay.timeInterval)), now: now())
        return run
    }

    /// Ends the run. `endingAt` is the step that ended it, when one did: records after it that had
    /// not finished (a retry that was waiting while an earlier step ran again) are dropped, since
    /// they will never happen.
    private func finish(_ run: Run, _ outcome: RunLifecycle.Event, endingAt index: Int? = nil) -> Run {
        var run = run
        if let index { Self.dropUnfinishedRecords(after: index, of: &run) }
        run.handle(outcome, now: now())
        return run
    }

    /// Drops the records after `index` that had not finished (a retry that was waiting while an
    /// earlier step ran again): the run ends at `index`, so they will never happen.
    private static func dropUnfinishedRecords(after index: Int, of run: inout Run) {
        guard index + 1 < run.steps.count else { return }
        let later = run.steps[(index + 1)...].filter { isFinished($0) }
        run.steps.replaceSubrange((index + 1)..., with: later)
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
        case .running, .retrying, .waiting, .ambiguous: false
        }
    }

    /// The output later steps read from a finished step's record, or `nil` when the step must run
    /// (again): it has not finished, or its output held bytes or a value larger than the history
    /// keeps, of which storage kept only a summary.
    static func survivingOutput(of record: StepRecord) -> JSONValue? {
        guard isFinished(record) else { return nil }
        let output = record.output ?? .null
        return output.containsBinarySummary || output.isOmittedSummary ? nil : output
    }

    /// The run as it can still be stored when the store refused it: every step's parameters,
    /// output and error details dropped, and the run ended `failed` with `ESAVE` (a finished run
    /// keeps its status).
    public func unstorable(_ run: Run, reason: String) -> Run {
        var run = run
        for index in run.steps.indices {
            run.steps[index].parameters = nil
            run.steps[index].output = nil
            run.steps[index].error?.details = nil
        }
        run.clearErrorDetails()
        run.handle(.abandoned(RunError(code: "ESAVE", message: "The run's history could not be saved: \(reason)")), now: now())
        return run
    }

    // MARK: Crash recovery

    /// What becomes of a run found `running` after its worker died. A step under way that is not
    /// safe to repeat may have done its work, so the run ends ambiguous. Otherwise it resumes at
    /// the step under way (or after its last finished step), unless workers have now taken it
    /// ``RunLimits/quarantineAfterStarts`` times without the server surviving to save progress:
    /// then it ends `failed`, `EQUARANTINED` — a run that kills the server must not do it at
    /// every start.
    public func recover(_ run: Run) -> Run {
        var run = run
        guard let index = run.steps.firstIndex(where: { $0.status == .running }) else {
            run.handle(.workerLost(nil), now: now())
            return run
        }
        let interrupted = run.steps[index]
        let underWay: RunLifecycle.StepUnderWay = interrupted.isRepeatable
            ? .repeatable(stepID: interrupted.stepID)
            : .notRepeatable(stepID: interrupted.stepID)
        run.handle(.workerLost(underWay), now: now())
        if run.isFinished {
            run.steps[index].status = run.status == .ambiguous ? .ambiguous : .failed
            run.steps[index].error = run.error
            run.steps[index].finishedAt = now()
            Self.dropUnfinishedRecords(after: index, of: &run)
        }
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
                try Template(parsing: text).checkInsertions(in: scope, forbidding: forbids)
            } catch {
                throw ParameterTemplateError(parameterPath: "parameters.\(parameter.name)", error: error)
            }
        }
    }
}
