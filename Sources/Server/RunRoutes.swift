public import Flows
import Foundation
import HTTPTypes
import Hummingbird
import Workspaces
import HummingbirdCore

/// `GET /api/v1/runs` (a page of the history, newest first), `GET /api/v1/runs/{id}` (one run
/// with its steps) and `POST /api/v1/runs/{id}/cancel`, scoped to the caller's workspace.
struct RunRoutes {
    let services: PosthornServices

    /// A page holds 1 to ``maximumLimit`` runs, ``defaultLimit`` unless `limit` says otherwise.
    static let defaultLimit = 50
    static let maximumLimit = 200
    /// The furthest `offset` (the history keeps fewer runs than this).
    static let maximumOffset = 10_000_000

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.get("runs") { request, context in
            let workspace = try context.requireWorkspace()
            let page = try RunPageQuery(request.uri.queryParameters)
            if let offset = page.offset {
                let (runs, total) = try await services.runStore.runs(
                    workspaceID: workspace.id, flowID: page.flowID, status: page.status, limit: page.limit, offset: offset)
                return RunListResponse(items: runs.map(RunSummaryResponse.init), next: nil, total: total)
            }
            // One more than asked says whether another page follows, so `next` is never a cursor
            // to an empty page.
            var runs = try await services.runStore.runs(
                workspaceID: workspace.id, flowID: page.flowID, status: page.status, limit: page.limit + 1, before: page.cursor)
            var next: String?
            if runs.count > page.limit {
                runs.removeLast(runs.count - page.limit)
                next = runs.last.map { RunCursor(createdAt: $0.createdAt, id: $0.id).token }
            }
            return RunListResponse(items: runs.map(RunSummaryResponse.init), next: next)
        }
        group.get("runs/:id") { _, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            guard let run = try await services.runStore.run(id: id, workspaceID: workspace.id) else {
                throw APIError(.notFound, code: "not_found", "Run not found")
            }
            return RunResponse(run)
        }
        group.post("runs/:id/cancel") { _, context in
            let workspace = try context.requireWorkspace()
            let id = try context.parameters.require("id")
            switch try await services.runStore.requestCancellation(runID: id, workspaceID: workspace.id, now: Date()) {
            case .cancelled(let run)?:
                // Ended in the store directly, not through the writer: tell the live listeners.
                services.runEvents.publish([run])
                return EditedResponse(status: .ok, response: RunResponse(run))
            case .requested(let run)?:
                // Ends `cancelled` at its next step boundary; the step under way finishes.
                return EditedResponse(status: .accepted, response: RunResponse(run))
            case .alreadyFinished(let run)?:
                throw APIError(.conflict, code: "run_finished", "The run has already ended (\(run.status.rawValue)); there is nothing to cancel")
            case nil:
                throw APIError(.notFound, code: "not_found", "Run not found")
            }
        }
    }
}

/// `?flowId=&status=&limit=&cursor=` or `&offset=`, each refused with 422 naming the parameter.
struct RunPageQuery {
    var flowID: String?
    var status: RunStatus?
    var limit = RunRoutes.defaultLimit
    var cursor: RunCursor?
    /// Position instead of a cursor: the answer then carries `total`.
    var offset: Int?

    init(_ parameters: FlatDictionary<Substring, Substring>) throws {
        if let flowID = parameters["flowId"], !flowID.isEmpty {
            self.flowID = String(flowID)
        }
        if let text = parameters["status"], !text.isEmpty {
            guard let status = RunStatus(rawValue: String(text)) else {
                throw APIError(
                    .unprocessableContent, code: "validation_failed", field: "status",
                    "Status must be one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.status = status
        }
        if let text = parameters["limit"] {
            guard let limit = Int(text), (1...RunRoutes.maximumLimit).contains(limit) else {
                throw APIError(
                    .unprocessableContent, code: "validation_failed", field: "limit",
                    "Limit must be a whole number from 1 to \(RunRoutes.maximumLimit)")
            }
            self.limit = limit
        }
        if let text = parameters["cursor"], !text.isEmpty {
            guard let cursor = RunCursor(token: String(text)) else {
                throw APIError(.unprocessableContent, code: "validation_failed", field: "cursor", "Cursor is not one this API returned")
            }
            self.cursor = cursor
        }
        if let text = parameters["offset"] {
            guard let offset = Int(text), offset >= 0, offset <= RunRoutes.maximumOffset else {
                throw APIError(
                    .unprocessableContent, code: "validation_failed", field: "offset",
                    "Offset must be a whole number from 0 to \(RunRoutes.maximumOffset)")
            }
            guard cursor == nil else {
                throw APIError(.unprocessableContent, code: "validation_failed", field: "offset", "Give either offset or cursor, not both")
            }
            self.offset = offset
        }
    }
}

// MARK: - Responses

/// A run with everything the history keeps: what triggered it (the secret headers were never
/// recorded), each step's resolved parameters (secret ones already `<redacted>`), output, error,
/// attempts and times.
struct RunResponse: ResponseEncodable {
    var id: String
    var flowId: String
    var status: String
    var trigger: TriggerPayload
    var steps: [StepRecordResponse]
    @ExplicitNull var error: RunErrorResponse?
    var createdAt: String
    @ExplicitNull var startedAt: String?
    @ExplicitNull var finishedAt: String?
    /// For a `waiting` run: when it resumes, and why it waits.
    @ExplicitNull var waitingUntil: String?
    @ExplicitNull var waitingReason: String?

    init(_ run: Run) {
        waitingUntil = run.waitingUntil.map(Timestamp.string)
        waitingReason = run.waitingReason
        id = run.id
        flowId = run.flowID
        status = run.status.rawValue
        trigger = run.trigger
        steps = run.steps.map(StepRecordResponse.init)
        error = run.error.map(RunErrorResponse.init)
        createdAt = Timestamp.string(run.createdAt)
        startedAt = run.startedAt.map(Timestamp.string)
        finishedAt = run.finishedAt.map(Timestamp.string)
    }
}

/// A run as a history page lists it: no trigger data and no steps (fetch the run for those), so a
/// page of 200 stays small whatever the webhook bodies were.
struct RunSummaryResponse: Encodable {
    var id: String
    var flowId: String
    var status: String
    var triggerKind: String
    @ExplicitNull var error: RunErrorResponse?
    var createdAt: String
    @ExplicitNull var startedAt: String?
    @ExplicitNull var finishedAt: String?
    @ExplicitNull var waitingUntil: String?
    @ExplicitNull var waitingReason: String?

    init(_ run: Run) {
        self.init(
            id: run.id, flowID: run.flowID, status: run.status, triggerKind: run.trigger.kind, error: run.error,
            createdAt: run.createdAt, startedAt: run.startedAt, finishedAt: run.finishedAt, waitingUntil: run.waitingUntil,
            waitingReason: run.waitingReason)
    }

    /// The same summary for a live event (`GET /api/v1/events`).
    init(_ event: RunEventHub.Event) {
        self.init(
            id: event.runID, flowID: event.flowID, status: event.status, triggerKind: event.triggerKind, error: event.error,
            createdAt: event.createdAt, startedAt: event.startedAt, finishedAt: event.finishedAt, waitingUntil: event.waitingUntil,
            waitingReason: event.waitingReason)
    }

    private init(
        id: String, flowID: String, status: RunStatus, triggerKind: String, error: RunError?, createdAt: Date,
        startedAt: Date?, finishedAt: Date?, waitingUntil: Date?, waitingReason: String?
    ) {
        self.waitingUntil = waitingUntil.map(Timestamp.string)
        self.waitingReason = waitingReason
        self.id = id
        flowId = flowID
        self.status = status.rawValue
        self.triggerKind = triggerKind
        self.error = error.map(RunErrorResponse.init)
        self.createdAt = Timestamp.string(createdAt)
        self.startedAt = startedAt.map(Timestamp.string)
        self.finishedAt = finishedAt.map(Timestamp.string)
    }
}

struct StepRecordResponse: Encodable {
    var id: String
    var type: String
    var status: String
    @ExplicitNull var parameters: JSONValue?
    @ExplicitNull var output: JSONValue?
    @ExplicitNull var error: RunErrorResponse?
    var attempts: Int
    var startedAt: String
    @ExplicitNull var finishedAt: String?
    /// What bounce reports said of the email the step sent, per recipient.
    var delivery: [DeliveryResponse]

    struct DeliveryResponse: Encodable {
        var status: String
        var recipient: String
        @ExplicitNull var code: String?
        @ExplicitNull var diagnostic: String?
        var at: String
    }

    init(_ record: StepRecord) {
        delivery = record.delivery.map {
            DeliveryResponse(status: $0.status, recipient: $0.recipient, code: $0.code, diagnostic: $0.diagnostic, at: Timestamp.string($0.at))
        }
        id = record.stepID
        type = record.type
        status = record.status.rawValue
        parameters = record.parameters
        output = record.output
        error = record.error.map(RunErrorResponse.init)
        attempts = record.attempts
        startedAt = Timestamp.string(record.startedAt)
        finishedAt = record.finishedAt.map(Timestamp.string)
    }
}

/// `{"code", "message", "stepId", "details"}`: codes are the node's (`ETEMPLATE`, `EAUTH`).
struct RunErrorResponse: Encodable {
    var code: String
    var message: String
    @ExplicitNull var stepId: String?
    @ExplicitNull var details: JSONValue?

    init(_ error: RunError) {
        code = error.code
        message = error.message
        stepId = error.stepID
        details = error.details
    }
}

/// `{"items": […], "next": cursor or null}`.
struct RunListResponse: ResponseEncodable {
    var items: [RunSummaryResponse]
    @ExplicitNull var next: String?
    /// With `offset` only (absent otherwise): how many runs match the filter.
    var total: Int?
}

extension JSONRendering {
    /// A run as `GET /api/v1/runs/{id}` shows it.
    public static func run(_ run: Run) -> String {
        prettyJSON(RunResponse(run))
    }
}
