import Flows
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import Workspaces

/// `GET /api/v1/events[?flowId=]`: the caller's workspace's run events as server-sent events, so
/// the web app shows a run live without polling.
///
/// `event: run` carries the run's summary and its steps' statuses (never parameters, outputs or
/// the trigger's body: the page fetches the run it shows). A `: keepalive` comment every 15 seconds
/// keeps proxies from closing a quiet stream. The stream ends when the client goes, or when the
/// server begins to stop (an open stream would hold the graceful shutdown); browsers reconnect
/// on their own (`retry: 3000`).
struct EventRoutes {
    let services: PosthornServices
    /// Between keepalive comments.
    static let keepalive: Duration = .seconds(15)

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.get("events") { request, context in
            let workspace = try context.requireWorkspace()
            let flowID = request.uri.queryParameters["flowId"].map(String.init)
            if let flowID, flowID.isEmpty || flowID.utf8.count > 64 {
                throw APIError(.unprocessableContent, code: "validation_failed", field: "flowId", "flowId must be a flow id")
            }
            let events: AsyncStream<RunEventHub.Event>
            do {
                events = try services.runEvents.subscribe(workspaceID: workspace.id, flowID: flowID)
            } catch RunEventHub.SubscribeError.tooMany {
                throw APIError(
                    .tooManyRequests, code: "too_many_streams",
                    "This workspace has \(services.runEvents.maximumPerWorkspace) live streams open; close a tab and try again")
            } catch {
                throw APIError(.serviceUnavailable, code: "shutting_down", "The server is stopping")
            }
            let headers: HTTPFields = [
                .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store",
                HTTPField.Name("X-Accel-Buffering")!: "no",
            ]
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await Self.stream(events, to: &writer)
                try await writer.finish(nil)
            })
        }
    }

    /// What the stream carries, in order.
    private enum Item: Sendable {
        case run(RunEventHub.Event)
        case keepalive
    }

    /// Writes events and keepalives until the client goes (a write fails), the hub closes, or a
    /// graceful shutdown begins.
    private static func stream(_ events: AsyncStream<RunEventHub.Event>, to writer: inout any ResponseBodyWriter) async throws {
        let (items, sink) = AsyncStream.makeStream(of: Item.self, bufferingPolicy: .bufferingNewest(512))
        try await writer.write(ByteBuffer(string: "retry: 3000\n: connected\n\n"))
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await event in events { sink.yield(.run(event)) }
                    sink.finish()
                }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: keepalive)
                        sink.yield(.keepalive)
                    }
                }
                defer { group.cancelAll() }
                for await item in items {
                    switch item {
                    case .run(let event): try await writer.write(ByteBuffer(string: "event: run\ndata: \(Self.json(event))\n\n"))
                    case .keepalive: try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                    }
                }
            }
        } onGracefulShutdown: {
            sink.finish()
        }
    }

    /// The event's data line: the run summary as `GET /api/v1/runs` shows it, and the steps'
    /// statuses.
    static func json(_ event: RunEventHub.Event) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(RunEventResponse(event))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// One `event: run`: the run as the run list shows it, and its steps' statuses.
struct RunEventResponse: Encodable {
    struct StepStatus: Encodable {
        var id: String
        var status: String
    }

    var summary: RunSummaryResponse
    var steps: [StepStatus]

    init(_ event: RunEventHub.Event) {
        summary = RunSummaryResponse(event)
        steps = event.steps.map { StepStatus(id: $0.id, status: $0.status) }
    }

    private enum CodingKeys: String, CodingKey { case steps }

    func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(steps, forKey: .steps)
    }
}
