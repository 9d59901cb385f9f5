public import Bounces
public import Foundation
public import Workspaces

/// The provider side of bounce intake: verifies a call to
/// `/hooks/deliverability/{intakeId}/{provider}` with the keys set up on that intake, refuses a
/// replay, and hands the events to ``BounceIngest`` within the intake's workspace.
public struct DeliverabilityIntake: Sendable {
    let intakes: IntakeService
    let bounces: BounceIngest
    let sns: any SNSEndpoint
    let replays: IntakeReplayGuard
    let now: @Sendable () -> Date

    /// `replays` remembers the calls taken in (the database, shared by the instances on it).
    public init(
        intakes: IntakeService, bounces: BounceIngest, sns: any SNSEndpoint, replays: any ReplayStore,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.intakes = intakes
        self.bounces = bounces
        self.sns = sns
        self.now = now
        self.replays = IntakeReplayGuard(store: replays, now: now)
    }

    /// Why a call changed nothing.
    public enum Refusal: Error, Sendable, Hashable {
        /// No intake has this id (a credential id included), or the provider is unknown.
        case notFound
        /// The intake has no keys for this provider.
        case notConfigured(IntakeProvider)
        case verification(IntakeVerificationError)
        /// The same signed call was taken in before.
        case replayed
        /// A subscription could not be confirmed with SNS (the message is answered with an error,
        /// so SNS sends it again).
        case confirmationFailed
    }

    /// What a taken-in call did.
    public struct Receipt: Sendable, Hashable {
        public var events: Int
        public var outcomes: [BounceIngest.Outcome]
        /// A subscription confirmed with SNS.
        public var subscribed: Bool = false

        public var matched: Int { outcomes.filter(\.matched).count }
        public var startedRuns: Int { outcomes.map(\.startedRuns.count).reduce(0, +) }
    }

    /// The request headers a provider signs with (lower-cased names).
    public struct Headers: Sendable {
        public var values: [String: String]
        public init(_ values: [String: String]) { self.values = values }
        subscript(_ name: String) -> String? { values[name] }
    }

    /// Verifies and applies one provider call.
    public func receive(intakeID: String, provider: IntakeProvider, body: [UInt8], headers: Headers) async throws -> Receipt {
        guard let (record, settings) = try await intakes.intake(intakeID) else { throw Refusal.notFound }
        guard settings.isConfigured(provider) else { throw Refusal.notConfigured(provider) }
        let call: VerifiedProviderCall
        do {
            switch provider {
            case .raw:
                preconditionFailure("raw bounces are taken in by BounceRoutes")
            case .sendgrid:
                let key = try SendGridEvents.publicKey(settings.sendgrid?.verificationKey ?? "")
                call = try SendGridEvents.verify(
                    body: body, signature: headers["x-twilio-email-event-webhook-signature"],
                    timestamp: headers["x-twilio-email-event-webhook-timestamp"], key: key, now: now())
            case .mailgun:
                call = try MailgunEvents.verify(body: body, signingKey: settings.mailgun?.signingKey ?? "", now: now())
            case .postmark:
                call = try PostmarkEvents.verify(
                    body: body, authorization: headers["authorization"], username: settings.postmark?.username ?? "",
                    password: settings.postmark?.password ?? "")
            case .ses:
                let message = try SNSMessage.parse(body)
                guard SNSMessage.isSNSURL(message.signingCertificateURL) else {
                    throw IntakeVerificationError.badSignature("SigningCertURL is not an SNS certificate URL")
                }
                let pem: String
                do { pem = try await sns.certificate(at: message.signingCertificateURL) } catch {
                    throw IntakeVerificationError.badSignature("the SNS signing certificate could not be fetched")
                }
                try message.verify(certificatePEM: pem, now: now())
                if let topic = settings.ses?.topicArn, topic != message.topicARN {
                    throw IntakeVerificationError.badSignature("the message is from another SNS topic than the one set up")
                }
                switch message.kind {
                case .subscriptionConfirmation:
                    guard let url = message.subscribeURL.flatMap(URL.init(string:)) else { throw IntakeVerificationError.malformed("no SubscribeURL") }
                    do { try await sns.confirm(subscribeURL: url) } catch { throw Refusal.confirmationFailed }
                    return Receipt(events: 0, outcomes: [], subscribed: true)
                case .unsubscribeConfirmation:
                    return Receipt(events: 0, outcomes: [])
                case .notification:
                    call = try message.call()
                }
            }
        } catch let error as IntakeVerificationError {
            throw Refusal.verification(error)
        }
        guard try await replays.reserve(call.replayKey, window: call.replayWindow) else { throw Refusal.replayed }
        do {
            let outcomes = try await bounces.apply(call.events, workspaceID: record.workspaceID, source: provider.rawValue)
            return Receipt(events: call.events.count, outcomes: outcomes)
        } catch {
            await replays.release(call.replayKey)
            throw error
        }
    }
}
