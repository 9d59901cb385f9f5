import Flows
import Foundation
import HTTPTypes
import Hummingbird
import Workspaces

/// `/api/v1/flows…`, scoped to the caller's workspace: another workspace's flow id is 404, never
/// 403, so ids reveal nothing.
struct FlowRoutes {
    let services: PosthornServices
    /// Forgotten after every change, so the webhook route never starts a changed or deleted flow.
    let webhooks: WebhookFlowCache

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.post("flows") { request, context in
            let workspace = try context.requireWorkspace()
            let definition = try await FlowBody.definition(from: request, context: context)
            try validate(definition)
            let flow = try await stored { try await services.flows.create(definition, in: workspace.id) }
            return EditedResponse(
                status: .created, headers: [.location: "/api/v1/flows/\(flow.id)"], response: FlowResponse(flow))
        }
        group.get("flows") { _, context in
            let workspace = try context.requireWorkspace()
            return FlowListResponse(flows: try await services.flowStore.flows(workspaceID: workspace.id).map(FlowResponse.init))
        }
        group.get("flows/:id") { _, context in
            let workspace = try context.requireWorkspace()
            return FlowResponse(try await flow(try context.parameters.require("id"), in: workspace.id))
        }
        group.put("flows/:id") { request, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            let definition = try await FlowBody.definition(from: request, context: context)
            try validate(definition)
            let replaced = try await stored { try await services.flows.replace(id, in: workspace.id, with: definition) }
            guard let replaced else { throw Self.notFound }
            webhooks.invalidate()
            return FlowResponse(replaced)
        }
        group.delete("flows/:id") { _, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            guard try await services.flows.delete(id, in: workspace.id) else { throw Self.notFound }
            webhooks.invalidate()
            return HTTPResponse.Status.noContent
        }
        group.post("flows/:id/runs") { request, context in
            let workspace = try context.requireWorkspace()
            let flow = try await flow(try context.parameters.require("id"), in: workspace.id)
            guard flow.enabled else {
                throw APIError(.conflict, code: "flow_disabled", "The flow is disabled; enable it to run it")
            }
            let body = try await Self.manualBody(request)
            let run = try await WebhookRoutes.start(flow, payload: TriggerPayload(kind: "manual", body: body), services: services)
            return WebhookRoutes.accepted(runID: run.id)
        }
    }

    static let notFound = APIError(.notFound, code: "not_found", "Flow not found")

    private func flow(_ id: String, in workspaceID: String) async throws -> Flow {
        guard let flow = try await services.flowStore.flow(id: id, workspaceID: workspaceID) else { throw Self.notFound }
        return flow
    }

    /// Checks every rule up front: whatever the service refuses after this is a name taken by
    /// another flow, which is a conflict (409) rather than a broken rule (422).
    private func validate(_ definition: FlowDefinition) throws {
        do {
            _ = try definition.validated(registry: services.flows.registry)
        } catch {
            throw APIError(.unprocessableContent, code: "validation_failed", field: error.field, error.message)
        }
    }

    /// Runs a store change, turning the duplicate-name refusal into 409.
    private func stored<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as FlowValidationError {
            throw APIError(.conflict, code: "conflict", field: error.field, error.message)
        }
    }

    /// A manual run's body stands in for the trigger's: a JSON object, or `{}` when empty.
    private static func manualBody(_ request: Request) async throws -> JSONValue {
        let bytes = try await WebhookBody.collect(request)
        return bytes.isEmpty ? .object([:]) : try WebhookBody.object(bytes)
    }
}
