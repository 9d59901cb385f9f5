public import DKIM
public import Flows
import Foundation
import HTTPTypes
public import Hummingbird
import Logging
import NIOHTTP1
import Storage
public import WebApp
public import Workspaces

/// The services behind the API, opened once per process.
public struct PosthornServices: Sendable {
    public let workspaces: WorkspaceService
    /// Accounts, sessions, roles and invitations.
    public let users: UserService
    /// The session cookie and the same-origin rule.
    public let browser: BrowserPolicy
    public let credentials: CredentialService
    public let connectionTester: ConnectionTester
    /// Creates and changes flows, starts runs (through the group-commit writer).
    public let flows: FlowService
    public let flowStore: any FlowStore
    public let runStore: any RunStore
    /// Webhook and error metrics.
    public let metrics: ServerMetrics
    /// Run changes for live listeners (`GET /api/v1/events`).
    public let runEvents: RunEventHub
    /// Email previews' HTML bodies for the studio's sandboxed frame.
    public let previewFrames: PreviewFrames
    /// Sending domains and their DKIM keys.
    public let domains: DomainService
    /// Where *Check DNS* looks records up.
    public let dnsResolver: any TXTResolver
    /// Addresses the workspace no longer sends to.
    public let suppressions: SuppressionService
    /// Bounces taken in: matched to their step, recorded, suppressing what bounced for good.
    public let bounces: BounceIngest
    /// Each credential's bounce intake id and provider keys.
    public let intakes: IntakeService
    /// Providers' signed calls to the intake, verified and applied.
    public let deliverability: DeliverabilityIntake
    /// Whether the database answers (`/readyz`).
    public let readiness: @Sendable () async -> Bool
    /// Webhook id → flow, forgotten when a flow changes here (``Flows/FlowService``'s change hook,
    /// which every flow route goes through) or, through a ``Storage/ClusterNotice``, on another
    /// instance. Give the same cache to the ``FlowEngine``.
    public let webhooks: WebhookFlowCache
    /// Signing in with OAuth providers for credentials, and their access tokens; `nil` offers none.
    public let oauth: OAuthService?

    /// Bundles the services.
    public init(
        workspaces: WorkspaceService, users: UserService, browser: BrowserPolicy, credentials: CredentialService,
        connectionTester: ConnectionTester, flows: FlowService, flowStore: any FlowStore, runStore: any RunStore,
        metrics: ServerMetrics, runEvents: RunEventHub, domains: DomainService, dnsResolver: any TXTResolver,
        suppressions: SuppressionService, bounces: BounceIngest, intakes: IntakeService, sns: any SNSEndpoint,
        replays: any ReplayStore = InMemoryReplayStore(),
        readiness: @escaping @Sendable () async -> Bool = { true }, webhooks: WebhookFlowCache = WebhookFlowCache(),
        previewFrames: PreviewFrames = PreviewFrames(), oauth: OAuthService? = nil
    ) {
        self.oauth = oauth
        self.readiness = readiness
        self.webhooks = webhooks
        self.bounces = bounces
        self.intakes = intakes
        deliverability = DeliverabilityIntake(intakes: intakes, bounces: bounces, sns: sns, replays: replays)
        self.suppressions = suppressions
        self.domains = domains
        self.dnsResolver = dnsResolver
        self.runEvents = runEvents
        self.previewFrames = previewFrames
        self.users = users
        self.browser = browser
        self.metrics = metrics
        self.workspaces = workspaces
        self.credentials = credentials
        self.connectionTester = connectionTester
        self.flows = flows
        self.flowStore = flowStore
        self.runStore = runStore
    }
}

/// Builds the router: `/healthz`, the `/api/v1` JSON API, `/hooks/{webhookId}` (outside the API:
/// no bearer token, the id is the capability) and the web app's pages and assets. Tests drive it
/// with `app.test(.router)`.
public func buildRouter(services: PosthornServices, webApp: WebAppAssets = .bundled) -> Router<PosthornRequestContext> {
    let router = Router(context: PosthornRequestContext.self)
    let pages = WebAppRoutes(assets: webApp)
    router.add(middleware: RequestLogMiddleware(metrics: services.metrics, webApp: pages))
    router.get("healthz") { _, _ in HealthResponse(status: "ok") }
    // Ready: the database answers (migrations ran before the server started listening). A load
    // balancer stops sending to an instance that says 503.
    router.get("readyz") { request, context in
        let ready = await services.readiness()
        var response = try HealthResponse(status: ready ? "ready" : "unavailable").response(from: request, context: context)
        response.status = ready ? .ok : .serviceUnavailable
        return response
    }
    OpenAPIDocument.register(on: router)
    pages.register(on: router)
    services.previewFrames.register(on: router)
    WebhookRoutes(services: services, cache: services.webhooks).register(on: router)
    SessionRoutes(services: services).register(on: router.group("api/v1"))
    let api = router.group("api/v1").add(
        middleware: AuthMiddleware(workspaces: services.workspaces, users: services.users, browser: services.browser))
    WorkspaceRoutes(services: services).register(on: api)
    MemberRoutes(services: services).register(on: api)
    CredentialRoutes(services: services).register(on: api)
    OAuthRoutes(services: services).register(on: api)
    OAuthRoutes(services: services).registerClients(on: api)
    DomainRoutes(services: services).register(on: api)
    SuppressionRoutes(services: services).register(on: api)
    BounceRoutes(services: services).register(api: api, hooks: router)
    TokenRoutes(services: services).register(on: api)
    FlowRoutes(services: services).register(on: api)
    RunRoutes(services: services).register(on: api)
    EventRoutes(services: services).register(on: api)
    CronRoutes().register(on: api)
    NodeRoutes(services: services).register(on: api)
    return router
}

struct HealthResponse: ResponseEncodable {
    var status: String
}

/// Logs each request's method, route, status and duration at debug: never headers or bodies, which
/// carry tokens and passwords.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = PosthornRequestContext

    let metrics: ServerMetrics
    /// The web app, for the "not found" page of a mistyped page address.
    var webApp: WebAppRoutes?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var status = 500
        defer {
            context.logger.debug(
                "request", metadata: [
                    "http.method": "\(request.method.rawValue)",
                    "http.route": "\(context.endpointPath ?? "-")",
                    "http.status": "\(status)",
                    "http.duration_ms": "\((ContinuousClock.now - start).wholeMilliseconds)",
                ])
        }
        do {
            var response = try await next(request, context)
            status = response.status.code
            // API answers are per caller: no shared or browser cache keeps them.
            if response.headers[.cacheControl] == nil, request.uri.path.hasPrefix("/api/") {
                response.headers[.cacheControl] = "no-store"
            }
            response.headers[.xContentTypeOptions] = "nosniff"
            if let id = RequestIdentity.id(of: context.logger) { response.headers[.requestID] = id }
            return response
        } catch let error as APIError {
            status = error.status.code
            if error.code == "vault_error" { metrics.error("vault") }
            throw error
        } catch let error as WorkspaceError {
            // The services' refusals, mapped to the API's statuses in this one place.
            let apiError = APIError(error)
            status = apiError.status.code
            if error.kind == .vault { metrics.error("vault") }
            throw apiError
        } catch let error as OAuthFlowError {
            let apiError = APIError(error)
            status = apiError.status.code
            throw apiError
        } catch let error as HTTPError where error.status == .notFound && error.body == nil {
            // No route matched. (Before the general case below, which HTTPError also matches.)
            status = 404
            // A person's browser asking for a page gets the web app, whose router shows "Page not
            // found", with the pages' headers; everything else the API's error shape.
            if request.method == .get, !request.uri.path.hasPrefix("/api/"), !request.uri.path.hasPrefix("/hooks/"),
                let page = webApp?.notFoundPage(for: request)
            {
                return page
            }
            throw APIError(.notFound, code: "not_found", "No such route: \(request.method.rawValue) \(request.uri.path)")
        } catch let error as any HTTPResponseError {
            status = error.status.code
            throw error
        } catch let error as HTTPParserError {
            // Malformed framing met while reading the body (a broken chunk size): the client's
            // fault. Rethrown as it is, Hummingbird answers 400 and closes the connection, whose
            // parser state is no longer trustworthy.
            status = 400
            throw error
        } catch {
            // Storage or other unexpected failures: the same error shape as every other answer,
            // and only the error's type in the log (its text may quote SQL).
            context.logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            metrics.error(error is StorageError || "\(type(of: error))".hasPrefix("SQLite") ? "database" : "internal")
            throw APIError(.internalServerError, code: "internal_error", "Internal error")
        }
    }
}
