public import Foundation
public import Logging

/// What one step of a flow would do with a trigger body, worked out without running it.
public struct StepPreview: Sendable {
    /// The step previewed and its node type.
    public var stepID: String
    public var type: String
    /// The run whose recorded outputs stood in for the steps above, or `nil` when the flow has
    /// no run yet (a reference to an upstream output then fails, naming it).
    public var upstreamRunID: String?
    /// The parameters rendered as a run would (secret ones `<redacted>`); `nil` when rendering failed.
    public var parameters: JSONValue?
    /// The node's own preview (an email step's message); `nil` when it has none, or on an error.
    public var result: JSONValue?
    /// What a run would fail with at this step; `nil` when it would get as far as sending.
    public var error: RunError?
}

extension FlowService {
    /// Renders step `stepID` of `flow` for a trigger `body` — templates, insertion guards, bounds
    /// and the node's own checks, exactly as a run would — and asks the node for its preview. The
    /// steps above are not run: their outputs come from the flow's newest run that recorded them.
    /// Nothing is stored and no run is created. `nil` when the flow has no such step.
    public func preview(_ flow: Flow, stepID: String, body: JSONValue, logger: Logger) async throws -> StepPreview? {
        guard let index = flow.steps.firstIndex(where: { $0.id == stepID }) else { return nil }
        let step = flow.steps[index]
        var preview = StepPreview(stepID: step.id, type: step.type)
        func failed(_ code: String, _ message: String, details: JSONValue? = nil) -> StepPreview {
            preview.error = RunError(code: code, message: message, stepID: step.id, details: details)
            return preview
        }
        guard let node = registry.node(type: step.type) else { return failed("ENODE", "Unknown node type \(step.type)") }
        let field = "steps[\(index)]"
        // The step's own problems (a draft's missing parameter, a reserved header); the trigger's
        // do not matter here, since the preview's body stands in for it.
        if let problem = problems(of: flow).first(where: { $0.field == field || $0.field.hasPrefix("\(field).") }) {
            return failed("EFLOW", "\(problem.field): \(problem.message)")
        }

        let upstream = try await upstreamOutputs(of: flow, before: index)
        preview.upstreamRunID = upstream.runID
        let scope = TemplateScope(
            triggerBody: body, triggerHeaders: [:], triggerQuery: [:], stepOutputs: upstream.outputs, runID: "run_preview",
            now: now())
        let parameters: JSONValue
        do {
            try RunProcessor.checkInsertions(step.parameters, descriptor: node.descriptor, scope: scope)
            parameters = try ParameterTemplate(parsing: step.parameters, name: "parameters").render(in: scope)
            try RunProcessor.checkBounds(of: parameters, what: "parameters")
        } catch {
            let failure = (error as? NodeError) ?? RunProcessor.templateFailure(error)
            return failed(failure.code, failure.message, details: failure.details)
        }
        let context = NodeContext(
            parameters: parameters, stepOutputs: upstream.outputs, workspaceID: flow.workspaceID, flowID: flow.id,
            runID: "run_preview", stepID: step.id, attempt: 1, logger: logger)
        do throws(NodeError) {
            let result = try await node.preview(context)
            (preview.parameters, preview.result) = node.forHistory(parameters: parameters, output: result)
        } catch {
            preview.parameters = node.forHistory(parameters: parameters, output: nil).parameters
            return failed(error.code, error.message, details: error.details)
        }
        return preview
    }

    /// The outputs the steps before `index` recorded in the flow's newest run, and that run's id.
    private func upstreamOutputs(of flow: Flow, before index: Int) async throws -> (runID: String?, outputs: [String: JSONValue]) {
        guard index > 0,
            let brief = try await runs.latestRuns(workspaceID: flow.workspaceID, flowIDs: [flow.id])[flow.id],
            let run = try await runs.run(id: brief.id, workspaceID: flow.workspaceID)
        else { return (nil, [:]) }
        let above = Set(flow.steps[..<index].map(\.id))
        var outputs: [String: JSONValue] = [:]
        for record in run.steps where above.contains(record.stepID) {
            if let output = record.output { outputs[record.stepID] = output }
        }
        return (run.id, outputs)
    }
}

extension StepPreview {
    init(stepID: String, type: String) {
        self.init(stepID: stepID, type: type, upstreamRunID: nil, parameters: nil, result: nil, error: nil)
    }
}
