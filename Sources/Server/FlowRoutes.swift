import Flows
import Foundation
import HTTPTypes
import Hummingbird
import Workspaces

/// `/api/v1/flows…`, scoped to the caller's workspace: another workspace's flow id is 404, never
/// 403, so ids reveal nothing.
struct FlowRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.post("flows") { request, context in
            let workspace = try context.requireWorkspace()
            let body = try await FlowBody.body(from: request, context: context)
            guard body.version == nil else {
                throw APIError(
                    .unprocessableContent, code: "validation_failed", field: "version",
                    "A new flow has no version yet; send version only when changing one")
            }
            try check(body.definition)
            let flow = try await stored { try await services.flows.create(body.definition, in: workspace.id) }
            return EditedResponse(
                status: .created, headers: [.location: "/api/v1/flows/\(flow.id)"], response: response(for: flow))
        }
        group.get("flows") { _, context in
            let workspace = try context.requireWorkspace()
            let flows = try await services.flowStore.flows(workspaceID: workspace.id)
            let latest = try await services.runStore.latestRuns(workspaceID: workspace.id, flowIDs: flows.map(\.id))
            return FlowListResponse(flows: flows.map { response(for: $0, lastRun: .some(latest[$0.id])) })
        }
        group.get("flows/:id") { _, context in
            let workspace = try context.requireWorkspace()
            return response(for: try await flow(try context.parameters.require("id"), in: workspace.id))
        }
        group.put("flows/:id") { request, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            let body = try await FlowBody.body(from: request, context: context)
            try check(body.definition)
            let replaced = try await stored {
                try await services.flows.replace(id, in: workspace.id, with: body.definition, version: body.version)
            }
            guard let replaced else { throw Self.notFound }
            return response(for: replaced)
        }
        group.delete("flows/:id") { _, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            guard try await services.flows.delete(id, in: workspace.id) else { throw Self.notFound }
            return HTTPResponse.Status.noContent
        }
        // A manual run, of an enabled flow or a draft (testing a flow before enabling it is what
        // Run in the studio is for), as long as it has no problems.
        group.post("flows/:id/runs") { request, context in
            let workspace = try context.requireWorkspace()
            let flow = try await flow(try context.parameters.require("id"), in: workspace.id)
            let problems = services.flows.problems(of: flow)
            guard problems.isEmpty else { throw Self.hasProblems(problems, "This flow cannot run yet") }
            let key = try WebhookRoutes.idempotencyKey(request)
            let bytes = try await WebhookBody.collect(request)
            let body = bytes.isEmpty ? JSONValue.object([:]) : try WebhookBody.object(bytes)
            return try await WebhookRoutes.start(
                flow, payload: TriggerPayload(kind: "manual", body: body), idempotencyKey: key, bytes: bytes, services: services)
        }
        // What one step would do with a trigger body, composed and checked as a run would, and
        // never done: no run is stored, no email sent.
        group.post("flows/:id/steps/:stepId/preview") { request, context in
            let workspace = try context.requireWorkspace()
            let flow = try await flow(try context.parameters.require("id"), in: workspace.id)
            let body = try await JSONBody.decode(StepPreviewBody.self, from: request, context: context)
            guard let preview = try await services.flows.preview(
                flow, stepID: try context.parameters.require("stepId"), body: body.body ?? flow.sampleBody ?? .object([:]), logger: context.logger)
            else {
                throw APIError(.notFound, code: "not_found", "This flow has no step with that id")
            }
            var response = StepPreviewResponse(preview)
            if case .object(let result)? = preview.result, case .string(let html)? = result["html"] {
                response.htmlFrameUrl = services.previewFrames.store(html)
            }
            return response
        }
    }

    static let notFound = APIError(.notFound, code: "not_found", "Flow not found")

    /// 422 `flow_has_problems`: the first problem's field and message, and every problem.
    static func hasProblems(_ problems: [FlowValidationError], _ what: String) -> APIError {
        var error = APIError(
            .unprocessableContent, code: "flow_has_problems", field: problems.first?.field,
            "\(what): \(problems.first?.message ?? "it has problems")")
        error.problems = problems.map { APIError.Problem(field: $0.field, message: $0.message) }
        return error
    }

    private func flow(_ id: String, in workspaceID: String) async throws -> Flow {
        guard let flow = try await services.flowStore.flow(id: id, workspaceID: workspaceID) else { throw Self.notFound }
        return flow
    }

    /// The flow as the API shows it, with its problems (and, in the list, its last run).
    private func response(for flow: Flow, lastRun: RunBrief?? = nil) -> FlowResponse {
        FlowResponse(flow, problems: services.flows.problems(of: flow), lastRun: lastRun)
    }

    /// Checks every rule up front: a broken rule a stored flow must keep is 422
    /// `validation_failed`; problems are 422 `flow_has_problems` only when the flow is to be
    /// enabled (a disabled flow is saved as a draft with them). Whatever the service refuses after
    /// this is a name taken by another flow or a stale version (409).
    private func check(_ definition: FlowDefinition) throws {
        let checked: ValidatedFlowDefinition
        do {
            checked = try definition.checked(registry: services.flows.registry)
        } catch {
            throw APIError(.unprocessableContent, code: "validation_failed", field: error.field, error.message)
        }
        if checked.enabled, !checked.problems.isEmpty {
            throw Self.hasProblems(checked.problems, "Fix these problems before enabling the flow")
        }
    }

    /// Runs a store change, turning the duplicate-name refusal and a stale version into 409.
    private func stored<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as FlowValidationError {
            throw APIError(.conflict, code: "conflict", field: error.field, error.message)
        } catch FlowStoreError.versionConflict {
            throw APIError(
                .conflict, code: "version_conflict", field: "version",
                "This flow was changed elsewhere since you loaded it; reload to see the latest")
        } catch let error as FlowProblems {
            throw Self.hasProblems(error.problems, "Fix these problems before enabling the flow")
        }
    }
}

/// A preview's question: the trigger body to render with (`{}` when absent).
struct StepPreviewBody: Decodable {
    var body: JSONValue?

    private enum Key: String, CodingKey { case body }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: ["body"])
        let container = try decoder.container(keyedBy: Key.self)
        body = try container.decodeNonNull(JSONValue.self, forKey: .body)
        if let body, case .object = body {} else if body != nil {
            throw APIError(.unprocessableContent, code: "validation_failed", field: "body", "Body must be a JSON object, as a trigger's is")
        }
    }
}

/// What a step would do: its rendered parameters, the node's preview (an email step's message),
/// or what a run would fail with, and the run whose outputs stood in for the steps above.
struct StepPreviewResponse: ResponseEncodable {
    var stepId: String
    var type: String
    @ExplicitNull var upstreamRunId: String?
    @ExplicitNull var parameters: JSONValue?
    @ExplicitNull var result: JSONValue?
    @ExplicitNull var error: RunErrorResponse?
    /// Where the studio's sandboxed frame loads the HTML body (ten minutes).
    @ExplicitNull var htmlFrameUrl: String?

    init(_ preview: StepPreview) {
        stepId = preview.stepID
        type = preview.type
        upstreamRunId = preview.upstreamRunID
        parameters = preview.parameters
        result = preview.result
        error = preview.error.map(RunErrorResponse.init)
    }
}
