import Bounces
import Flows
import Foundation
import HTTPTypes
import Hummingbird
import Workspaces

/// Bounce intake: `GET`/`POST /api/v1/credentials/{id}/intake` (the credential's intake address,
/// and a new one), `PUT`/`DELETE …/intake/{provider}` (a provider's keys), and
/// `POST /hooks/deliverability/{intakeId}/{provider}` — outside the API and without a token: the
/// 130-bit intake id is the capability, each provider's call is verified with the keys set up on
/// that intake, and what it brings is matched only to messages of that intake's workspace.
struct BounceRoutes {
    let services: PosthornServices

    /// The largest bounce accepted (10 MiB, the parser's bound).
    static let maximumBodySize = BounceParser.maximumSize

    func register(api: RouterGroup<PosthornRequestContext>, hooks: Router<PosthornRequestContext>) {
        api.get("credentials/:id/intake") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            return try await intakeResponse(id, workspace.id)
        }
        api.post("credentials/:id/intake") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            _ = try await services.intakes.rotate(id, in: workspace.id)
            return try await intakeResponse(id, workspace.id)
        }
        api.put("credentials/:id/intake/:provider") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            let provider = try Self.configurableProvider(context.parameters.require("provider"))
            let body = try await JSONBody.decode(ProviderSettingsBody.self, from: request, context: context)
            let settings = try body.settings(for: provider)
            try await services.intakes.configure(provider, for: id, in: workspace.id) { current in
                switch provider {
                case .raw: break
                case .ses: current.ses = settings.ses
                case .sendgrid: current.sendgrid = settings.sendgrid
                case .mailgun: current.mailgun = settings.mailgun
                case .postmark: current.postmark = settings.postmark
                }
            }
            return try await intakeResponse(id, workspace.id)
        }
        api.delete("credentials/:id/intake/:provider") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let id = try context.parameters.require("id")
            let provider = try Self.configurableProvider(context.parameters.require("provider"))
            try await services.intakes.configure(provider, for: id, in: workspace.id) { current in
                switch provider {
                case .raw: break
                case .ses: current.ses = nil
                case .sendgrid: current.sendgrid = nil
                case .mailgun: current.mailgun = nil
                case .postmark: current.postmark = nil
                }
            }
            return try await intakeResponse(id, workspace.id)
        }
        hooks.post("hooks/deliverability/:intakeId/:provider") { request, context in
            let intakeID = try context.parameters.require("intakeId")
            let name = try context.parameters.require("provider")
            guard let provider = IntakeProvider(rawValue: name) else {
                throw APIError(.notFound, code: "not_found", field: "provider", "Provider \(name.prefix(40)) is not supported (raw, ses, sendgrid, mailgun, postmark are)")
            }
            if provider == .raw {
                guard let (record, _) = try await services.intakes.intake(intakeID) else {
                    throw APIError(.notFound, code: "not_found", "Intake not found")
                }
                let body = try await WebhookBody.collect(request, limit: Self.maximumBodySize)
                do {
                    return try BounceOutcomeResponse(try await services.bounces.ingest(Array(body), workspaceID: record.workspaceID)).response(from: request, context: context)
                } catch let error as BounceParseError {
                    throw APIError(.unprocessableContent, code: "not_a_bounce", "\(error)")
                }
            }
            let body = try await WebhookBody.collect(request, limit: 5 * 1024 * 1024)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            do {
                let receipt = try await services.deliverability.receive(intakeID: intakeID, provider: provider, body: Array(body), headers: .init(headers))
                return try ProviderReceiptResponse(receipt).response(from: request, context: context)
            } catch let refusal as DeliverabilityIntake.Refusal {
                throw Self.apiError(refusal)
            }
        }
    }

    private func intakeResponse(_ credentialID: String, _ workspaceID: String) async throws -> IntakeResponse {
        let intakeID = try await services.intakes.intakeID(for: credentialID, in: workspaceID)
        let configured = try await services.intakes.configuredProviders(for: credentialID, in: workspaceID)
        return IntakeResponse(intakeID: intakeID, configured: configured)
    }

    static func configurableProvider(_ name: String) throws -> IntakeProvider {
        guard let provider = IntakeProvider(rawValue: name), provider != .raw else {
            throw APIError(.notFound, code: "not_found", field: "provider", "Provider must be ses, sendgrid, mailgun or postmark")
        }
        return provider
    }

    static func apiError(_ refusal: DeliverabilityIntake.Refusal) -> APIError {
        switch refusal {
        case .notFound:
            APIError(.notFound, code: "not_found", "Intake not found")
        case .notConfigured(let provider):
            APIError(.forbidden, code: "not_configured", field: "provider", "This intake has no \(provider.rawValue) keys set up")
        case .verification(.malformed(let why)):
            APIError(.unprocessableContent, code: "malformed_event", "Not a provider event: \(why)")
        case .verification(let error):
            APIError(.unauthorized, code: "bad_signature", "\(error)")
        case .replayed:
            APIError(.conflict, code: "replayed", "This call was taken in before; nothing changed")
        case .confirmationFailed:
            APIError(.badGateway, code: "confirmation_failed", "The SNS subscription could not be confirmed; SNS will send the confirmation again")
        }
    }
}

/// A provider's keys as an admin submits them (`PUT …/intake/{provider}`): each provider takes
/// only its own keys.
struct ProviderSettingsBody: Decodable {
    var topicArn: String?
    var verificationKey: String?
    var signingKey: String?
    var username: String?
    var password: String?
    var present: Set<String>

    private enum Key: String, CodingKey, CaseIterable { case topicArn, verificationKey, signingKey, username, password }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: Set(Key.allCases.map(\.rawValue)))
        let container = try decoder.container(keyedBy: Key.self)
        present = Set(container.allKeys.map(\.rawValue))
        topicArn = try container.decodeNullable(String.self, forKey: .topicArn) ?? nil
        verificationKey = try container.decodeNullable(String.self, forKey: .verificationKey) ?? nil
        signingKey = try container.decodeNullable(String.self, forKey: .signingKey) ?? nil
        username = try container.decodeNullable(String.self, forKey: .username) ?? nil
        password = try container.decodeNullable(String.self, forKey: .password) ?? nil
    }

    /// The settings for `provider`; throws naming the field for a missing, foreign or bad key.
    func settings(for provider: IntakeProvider) throws -> IntakeProviderSettings {
        let own: Set<String> = switch provider {
        case .raw: []
        case .ses: ["topicArn"]
        case .sendgrid: ["verificationKey"]
        case .mailgun: ["signingKey"]
        case .postmark: ["username", "password"]
        }
        if let foreign = present.subtracting(own).sorted().first {
            throw APIError(.unprocessableContent, code: "validation_failed", field: foreign, "Not a \(provider.rawValue) setting")
        }
        func required(_ value: String?, _ field: String, limit: Int) throws -> String {
            guard let value, !value.isEmpty else {
                throw APIError(.unprocessableContent, code: "validation_failed", field: field, "Is required")
            }
            guard value.count <= limit, !value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw APIError(.unprocessableContent, code: "validation_failed", field: field, "Must be at most \(limit) characters on one line")
            }
            return value
        }
        switch provider {
        case .raw:
            return IntakeProviderSettings()
        case .ses:
            if let topicArn, !(topicArn.hasPrefix("arn:aws") && topicArn.count <= 256 && topicArn.split(separator: ":").count == 6) {
                throw APIError(.unprocessableContent, code: "validation_failed", field: "topicArn", "Must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
            }
            return IntakeProviderSettings(ses: .init(topicArn: topicArn))
        case .sendgrid:
            let key = try required(verificationKey, "verificationKey", limit: 400)
            do { _ = try SendGridEvents.publicKey(key) } catch {
                throw APIError(.unprocessableContent, code: "validation_failed", field: "verificationKey", "Must be SendGrid's verification key: the base64 of an ECDSA P-256 public key")
            }
            return IntakeProviderSettings(sendgrid: .init(verificationKey: key))
        case .mailgun:
            return IntakeProviderSettings(mailgun: .init(signingKey: try required(signingKey, "signingKey", limit: 200)))
        case .postmark:
            let user = try required(username, "username", limit: 200)
            guard !user.contains(":") else {
                throw APIError(.unprocessableContent, code: "validation_failed", field: "username", "Must not contain a colon (basic authentication)")
            }
            return IntakeProviderSettings(postmark: .init(username: user, password: try required(password, "password", limit: 200)))
        }
    }
}

/// `{"intakeId", "path", "providers"}`: where a mailbox (`raw`) and each provider deliver the
/// credential's bounces, and which providers have keys set up. Keys are never shown.
struct IntakeResponse: ResponseEncodable {
    struct ProviderIntake: Encodable {
        var path: String
        var configured: Bool
    }

    var intakeId: String
    var path: String
    var providers: [String: ProviderIntake]

    init(intakeID: String, configured: Set<IntakeProvider>) {
        intakeId = intakeID
        path = "/hooks/deliverability/\(intakeID)/raw"
        providers = Dictionary(uniqueKeysWithValues: IntakeProvider.allCases.map {
            ($0.rawValue, ProviderIntake(path: "/hooks/deliverability/\(intakeID)/\($0.rawValue)", configured: configured.contains($0)))
        })
    }
}

/// What an ingested bounce did: the step it matched and each recipient's fate.
struct BounceOutcomeResponse: ResponseEncodable {
    var matched: Bool
    @ExplicitNull var runId: String?
    @ExplicitNull var stepId: String?
    var delivery: [StepRecordResponse.DeliveryResponse]
    var suppressed: [String]
    var startedRuns: [String]

    init(_ outcome: BounceIngest.Outcome) {
        matched = outcome.matched
        runId = outcome.runID
        stepId = outcome.stepID
        delivery = outcome.deliveries.map {
            StepRecordResponse.DeliveryResponse(status: $0.status, recipient: $0.recipient, code: $0.code, diagnostic: $0.diagnostic, at: Timestamp.string($0.at))
        }
        suppressed = outcome.suppressed
        startedRuns = outcome.startedRuns
    }
}

/// `{"events", "matched", "startedRuns", "subscribed"}`: what a provider's call did.
struct ProviderReceiptResponse: ResponseEncodable {
    var events: Int
    var matched: Int
    var startedRuns: Int
    var subscribed: Bool

    init(_ receipt: DeliverabilityIntake.Receipt) {
        events = receipt.events
        matched = receipt.matched
        startedRuns = receipt.startedRuns
        subscribed = receipt.subscribed
    }
}
