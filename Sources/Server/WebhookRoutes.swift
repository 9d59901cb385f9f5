import Flows
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Synchronization

/// `POST /hooks/{webhookId}`: starts a webhook flow. Outside `/api/v1` and without a bearer token:
/// the 130-bit random id in the URL is the capability, and a flow may add a shared secret that
/// callers send in `X-Webhook-Secret`.
///
/// This is the benchmark's hot path, so it does the least it can: the flow comes from
/// ``WebhookFlowCache`` (no database read once warm), the body is parsed once, and the only other
/// I/O is the run's insert, which the group-commit writer shares with every concurrent request.
/// The 202 is sent only once that insert is durable.
///
/// Checks run cheapest first, and the body is read only after the caller proved it may start the
/// flow: unknown or disabled → 404, wrong secret → 401, content type → 415, size → 413,
/// malformed → 400.
struct WebhookRoutes {
    let services: PosthornServices
    let cache: WebhookFlowCache

    /// The largest body accepted (1 MiB).
    static let maximumBodySize = 1 << 20

    func register(on router: Router<PosthornRequestContext>) {
        router.post("hooks/:webhookId") { request, context in
            let started = ContinuousClock.now
            do {
                let response = try await accept(request, context: context)
                services.metrics.webhook(status: response.status.code, duration: ContinuousClock.now - started)
                return response
            } catch let error as any HTTPResponseError {
                services.metrics.webhook(status: error.status.code, duration: ContinuousClock.now - started)
                throw error
            } catch {
                services.metrics.webhook(status: 500, duration: ContinuousClock.now - started)
                throw error
            }
        }
    }

    private func accept(_ request: Request, context: PosthornRequestContext) async throws -> Response {
        let webhookID = try context.parameters.require("webhookId")
        guard let flow = try await cache.flow(webhookID: webhookID, store: services.flowStore), flow.enabled,
            case .webhook(let webhook) = flow.trigger
        else {
            throw APIError(.notFound, code: "not_found", "Webhook not found")
        }
        guard FlowService.webhookSecretMatches(request.headers[.webhookSecret], webhook) else {
            throw APIError(.unauthorized, code: "invalid_webhook_secret", "Missing or wrong X-Webhook-Secret")
        }
        let key = try Self.idempotencyKey(request)
        let (body, bytes) = try await WebhookBody.read(request)
        let payload = TriggerPayload(
            kind: "webhook", body: body, headers: Self.recordedHeaders(request.headers), query: Self.query(request.uri.query))
        return try await Self.start(flow, payload: payload, idempotencyKey: key, bytes: bytes, services: services)
    }

    // MARK: Recording the request

    /// Lower-cased names; a repeated header's values joined with `, ` (RFC 9110 §5.3). What
    /// ``WebhookHeaderPolicy`` says carries a credential is left out or kept as `<redacted>`: the
    /// run history is readable by every token of the workspace, and a webhook sender's API key or
    /// signing secret must not become readable to all of them.
    static func recordedHeaders(_ fields: HTTPFields) -> [String: String] {
        var headers: [String: String] = [:]
        for field in fields {
            let name = field.name.canonicalName
            guard let value = WebhookHeaderPolicy.recordedValue(name: name, value: field.value) else { continue }
            if let earlier = headers[name] {
                headers[name] = earlier == WebhookHeaderPolicy.redacted ? earlier : earlier + ", " + value
            } else {
                headers[name] = value
            }
        }
        return headers
    }

    /// The query's parameters, decoded like a form; a repeated name keeps its last value, and a
    /// pair that does not decode is kept as written (the query is informational, not the payload).
    /// A parameter that looks like a credential (`?token=…`, `?api_key=…`, a bearer-style value) is
    /// kept as `<redacted>`, as headers are (``WebhookHeaderPolicy``).
    static func query(_ query: String?) -> [String: String] {
        guard let query, !query.isEmpty else { return [:] }
        var parameters: [String: String] = [:]
        for pair in FormEncoding.pairs(query) {
            let name = FormEncoding.decode(pair.name) ?? String(pair.name)
            let value = FormEncoding.decode(pair.value) ?? String(pair.value)
            parameters[name] = WebhookHeaderPolicy.recordedValue(name: name.lowercased(), value: value) ?? WebhookHeaderPolicy.redacted
        }
        return parameters
    }

    // MARK: Answering

    /// Starts a run through the group-commit writer: returns once it is durable. A writer that has
    /// stopped (the server is shutting down) is 503, so the caller retries elsewhere or later.
    static func start(_ flow: Flow, payload: TriggerPayload, services: PosthornServices) async throws -> Run {
        do {
            return try await services.flows.start(flow, payload: payload)
        } catch RunWriterError.stopped {
            throw APIError(.serviceUnavailable, code: "shutting_down", "The server is shutting down; try again")
        }
    }

    /// Starts a run, or — with an `Idempotency-Key` the flow already has a run for, made from the
    /// same raw body — answers that run with `Idempotent-Replayed: true`. The same key with another
    /// body is 422 `idempotency_key_reused`, and starts nothing.
    static func start(
        _ flow: Flow, payload: TriggerPayload, idempotencyKey key: String?, bytes: Data, services: PosthornServices
    ) async throws -> Response {
        guard let key else { return accepted(runID: try await start(flow, payload: payload, services: services).id) }
        do {
            let (runID, replayed) = try await services.flows.start(flow, payload: payload, idempotencyKey: key, rawBody: bytes)
            guard replayed else { return accepted(runID: runID) }
            let status = try await services.runStore.run(id: runID, workspaceID: flow.workspaceID)?.status ?? .queued
            var response = accepted(runID: runID, status: status.rawValue)
            response.headers[.idempotentReplayed] = "true"
            return response
        } catch RunWriterError.stopped {
            throw APIError(.serviceUnavailable, code: "shutting_down", "The server is shutting down; try again")
        } catch is IdempotencyKeyReused {
            throw APIError(
                .unprocessableContent, code: "idempotency_key_reused", field: "Idempotency-Key",
                "This Idempotency-Key was used with another body; use a new key for a new request")
        }
    }

    /// The request's `Idempotency-Key`, checked (1–255 visible ASCII characters); `nil` without one.
    static func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[.idempotencyKey] else { return nil }
        guard IdempotencyKey.isValid(key) else {
            throw APIError(
                .badRequest, code: "invalid_idempotency_key", field: "Idempotency-Key",
                "An Idempotency-Key is 1 to 255 visible ASCII characters")
        }
        return key
    }

    /// `202 {"runId", "status"}`, written by hand: run ids are `run_` and base32 and statuses are
    /// plain words, so need no escaping, and the hot path skips an encoder.
    static func accepted(runID: String, status: String = "queued") -> Response {
        Response(
            status: .accepted,
            headers: [.contentType: "application/json; charset=utf-8", .location: "/api/v1/runs/\(runID)"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"runId":"\#(runID)","status":"\#(status)"}"#)))
    }
}

extension HTTPField.Name {
    /// The webhook's shared secret.
    static let webhookSecret = HTTPField.Name("X-Webhook-Secret")!
    /// A caller's key that makes retrying a start safe.
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    /// Set on the answer to a start that found the run of its key.
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

// MARK: - Body

/// A trigger's body: a JSON object, or a form whose fields become strings (a repeated field an
/// array of strings). No body at all is `{}` (a ping with no payload).
enum WebhookBody {
    /// Reads and parses a webhook request's body; also the raw bytes (an idempotency key is bound
    /// to their digest).
    static func read(_ request: Request) async throws -> (body: JSONValue, bytes: Data) {
        let mediaType = request.headers[.contentType].map(Self.mediaType)
        let isForm: Bool
        switch mediaType {
        case "application/x-www-form-urlencoded":
            isForm = true
        case let type? where type == "application/json" || type.hasSuffix("+json"):
            isForm = false
        case nil:
            // No declared type is acceptable only for no body.
            isForm = false
        case .some:
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", "Send application/json or application/x-www-form-urlencoded")
        }
        let bytes = try await collect(request)
        guard !bytes.isEmpty else { return (.object([:]), bytes) }
        guard mediaType != nil else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", "Send application/json or application/x-www-form-urlencoded")
        }
        return (isForm ? try form(bytes) : try object(bytes), bytes)
    }

    /// The body, at most ``WebhookRoutes/maximumBodySize`` bytes; a declared length over it is
    /// refused before a byte is read.
    static func collect(_ request: Request, limit: Int = WebhookRoutes.maximumBodySize) async throws -> Data {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw tooLarge(limit)
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw tooLarge(limit)
        }
    }

    /// A JSON object (anything else is 400).
    static func object(_ bytes: Data) throws(APIError) -> JSONValue {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: bytes)
        } catch {
            throw APIError(.badRequest, code: "invalid_json", "The body is not valid JSON: \(error)")
        }
        guard case .object = value else {
            throw APIError(.badRequest, code: "invalid_json", "The body must be a JSON object")
        }
        return value
    }

    /// `application/x-www-form-urlencoded` (`+` is a space, `%XX` a byte, UTF-8 throughout).
    static func form(_ bytes: Data) throws(APIError) -> JSONValue {
        do {
            return try JSONValue(parsingForm: bytes)
        } catch {
            throw APIError(.badRequest, code: "invalid_form", "\(error)")
        }
    }

    /// `application/json; charset=utf-8` → `application/json`.
    static func mediaType(_ contentType: String) -> String {
        contentType.prefix { $0 != ";" }.trimmingCharacters(in: .whitespaces).lowercased()
    }

    private static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "body_too_large", "The body is larger than \(limit / 1024) KiB")
    }
}

// MARK: - Flow cache

/// Webhook id → flow, so a warm webhook costs no database read.
///
/// Correct because every change to a flow in this process goes through ``Flows/FlowService``,
/// whose change hook (set by ``FlowEngine``) calls ``invalidate()`` after the change is committed
/// (see ``Flows/InvalidatingCache`` for why a lookup in flight cannot store the old flow
/// afterwards), and a change made through another instance on
/// the same PostgreSQL database arrives as a ``Storage/ClusterNotice`` that does the same. Misses
/// are not cached, so a flow created by another process (`posthorn flow create`) is found on its
/// first call.
public final class WebhookFlowCache: Sendable {
    private let cache = InvalidatingCache<String, Flow>()

    /// The flow with this webhook id, enabled or not, from the cache or else from `store`.
    func flow(webhookID: String, store: any FlowStore) async throws -> Flow? {
        try await cache.value(for: webhookID) { try await store.flow(webhookID: webhookID) }
    }

    /// An empty cache.
    public init() {}

    /// Forgets every flow; call after a flow was changed or deleted (and the change committed).
    public func invalidate() {
        cache.invalidate()
    }
}
