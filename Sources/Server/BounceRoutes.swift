import Bounces
import Flows
import Foundation
import HTTPTypes
import Hummingbird
import Workspaces

/// Bounce intake: `GET`/`POST /api/v1/credentials/{id}/intake` (the credential's intake address,
/// and a new one), and `POST /hooks/deliverability/{intakeId}/{provider}` — outside the API and
/// without a token: the 130-bit intake id is the capability, and a bounce it brings is matched
/// only to messages of that id's workspace.
struct BounceRoutes {
    let services: PosthornServices

    /// The largest bounce accepted (10 MiB, the parser's bound).
    static let maximumBodySize = BounceParser.maximumSize

    func register(api: RouterGroup<PosthornRequestContext>, hooks: Router<PosthornRequestContext>) {
        api.get("credentials/:id/intake") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            return IntakeResponse(intakeID: try await mapped { try await services.intakes.intakeID(for: id, in: workspace.id) })
        }
        api.post("credentials/:id/intake") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            return IntakeResponse(intakeID: try await mapped { try await services.intakes.rotate(id, in: workspace.id) })
        }
        hooks.post("hooks/deliverability/:intakeId/:provider") { request, context in
            let intakeID = try context.parameters.require("intakeId")
            let provider = try context.parameters.require("provider")
            guard let owner = try await services.intakes.owner(of: intakeID) else {
                throw APIError(.notFound, code: "not_found", "Intake not found")
            }
            guard provider == "raw" else {
                throw APIError(.notFound, code: "not_found", field: "provider", "Provider \(provider.prefix(40)) is not supported (raw is)")
            }
            let body = try await WebhookBody.collect(request, limit: Self.maximumBodySize)
            do {
                return BounceOutcomeResponse(try await services.bounces.ingest(Array(body), workspaceID: owner.workspaceID))
            } catch let error as BounceParseError {
                throw APIError(.unprocessableContent, code: "not_a_bounce", "\(error)")
            }
        }
    }

}

/// `{"intakeId", "path"}`: where a provider or a mailbox delivers the credential's bounces.
struct IntakeResponse: ResponseEncodable {
    var intakeId: String
    var path: String

    init(intakeID: String) {
        intakeId = intakeID
        path = "/hooks/deliverability/\(intakeID)/raw"
    }
}

/// What an ingested bounce did: the step it matched and each recipient's fate.
struct BounceOutcomeResponse: ResponseEncodable {
    var matched: Bool
    @ExplicitNull var runId: String?
    @ExplicitNull var stepId: String?
    var delivery: [StepRecordResponse.DeliveryResponse]
    var suppressed: [String]

    init(_ outcome: BounceIngest.Outcome) {
        matched = outcome.matched
        runId = outcome.runID
        stepId = outcome.stepID
        delivery = outcome.deliveries.map {
            StepRecordResponse.DeliveryResponse(status: $0.status, recipient: $0.recipient, code: $0.code, diagnostic: $0.diagnostic, at: Timestamp.string($0.at))
        }
        suppressed = outcome.suppressed
    }
}
