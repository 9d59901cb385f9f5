public import Bounces
public import Foundation
public import Secrets
public import Vault

/// A credential's bounce intake as stored: its id and its providers' settings, sealed.
public struct IntakeRecord: Sendable, Hashable {
    public var intakeID: String
    public var workspaceID: String
    public var credentialID: String
    /// ``IntakeProviderSettings`` as JSON, sealed (`nil` when no provider is set up).
    public var sealedProviders: SealedSecret?

    public init(intakeID: String, workspaceID: String, credentialID: String, sealedProviders: SealedSecret?) {
        self.intakeID = intakeID
        self.workspaceID = workspaceID
        self.credentialID = credentialID
        self.sealedProviders = sealedProviders
    }

    /// What the sealed settings are bound to: the credential, not the (rotatable) intake id.
    public var providersContext: SealContext {
        SealContext(workspaceID: workspaceID, credentialID: credentialID, field: "intakeProviders")
    }
}

/// Where each credential's bounce intake is kept: the id (the capability in
/// `/hooks/deliverability/{intakeId}/{provider}`) and the sealed provider settings. SQL in
/// `Storage` (`bounce_intakes`).
public protocol IntakeStore: Sendable {
    /// Sets the credential's intake id, replacing an earlier one (which stops working at once);
    /// the provider settings stay.
    func replaceIntake(intakeID: String, credentialID: String, workspaceID: String, at: Date) async throws
    /// The credential's intake; `nil` when it has none yet.
    func intake(credentialID: String, workspaceID: String) async throws -> IntakeRecord?
    /// The intake with this id.
    func intake(intakeID: String) async throws -> IntakeRecord?
    /// Replaces the sealed provider settings of an existing intake.
    func setIntakeProviders(_ sealed: SealedSecret?, credentialID: String, workspaceID: String) async throws
    /// Every intake that has provider settings (for key rotation and the start-up check).
    func allSealedIntakes() async throws -> [IntakeRecord]
}

/// The providers set up on an intake, as sealed together. Only what a provider needs to prove
/// its calls; never returned by the API.
public struct IntakeProviderSettings: Sendable, Hashable, Codable {
    public struct SES: Sendable, Hashable, Codable {
        /// When set, SNS messages from any other topic are refused.
        public var topicArn: String?
        public init(topicArn: String?) { self.topicArn = topicArn }
    }
    public struct SendGrid: Sendable, Hashable, Codable {
        /// The base64 DER public key of SendGrid's signed event webhook.
        public var verificationKey: String
        public init(verificationKey: String) { self.verificationKey = verificationKey }
    }
    public struct Mailgun: Sendable, Hashable, Codable {
        public var signingKey: String
        public init(signingKey: String) { self.signingKey = signingKey }
    }
    public struct Postmark: Sendable, Hashable, Codable {
        public var username: String
        public var password: String
        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public var ses: SES?
    public var sendgrid: SendGrid?
    public var mailgun: Mailgun?
    public var postmark: Postmark?

    public init(ses: SES? = nil, sendgrid: SendGrid? = nil, mailgun: Mailgun? = nil, postmark: Postmark? = nil) {
        self.ses = ses
        self.sendgrid = sendgrid
        self.mailgun = mailgun
        self.postmark = postmark
    }

    /// Whether `provider` can be received (`raw` always can).
    public func isConfigured(_ provider: IntakeProvider) -> Bool {
        switch provider {
        case .raw: true
        case .ses: ses != nil
        case .sendgrid: sendgrid != nil
        case .mailgun: mailgun != nil
        case .postmark: postmark != nil
        }
    }

    var isEmpty: Bool { ses == nil && sendgrid == nil && mailgun == nil && postmark == nil }
}

/// Each credential's bounce intake address: an unguessable id (130 random bits), made on first use
/// and rotatable. A credential id, which is not secret, never works in its place. The providers'
/// keys (SendGrid's verification key, Mailgun's signing key, Postmark's basic credentials) are
/// sealed in the vault like every other secret.
public struct IntakeService: Sendable {
    private let store: any IntakeStore
    private let credentials: any CredentialStore
    private let vault: Vault
    private let now: @Sendable () -> Date

    public init(store: any IntakeStore, credentials: any CredentialStore, vault: Vault, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.credentials = credentials
        self.vault = vault
        self.now = now
    }

    /// The credential's intake id, made now if it has none.
    public func intakeID(for credentialID: String, in workspaceID: String) async throws -> String {
        try await requireCredential(credentialID, workspaceID)
        if let existing = try await store.intake(credentialID: credentialID, workspaceID: workspaceID) { return existing.intakeID }
        return try await rotate(credentialID, in: workspaceID)
    }

    /// Which providers the credential's intake receives (`raw` always).
    public func configuredProviders(for credentialID: String, in workspaceID: String) async throws -> Set<IntakeProvider> {
        let settings = try await providerSettings(credentialID: credentialID, workspaceID: workspaceID)
        return Set(IntakeProvider.allCases.filter(settings.isConfigured))
    }

    /// Sets up (`settings` of one provider merged in) or removes (`remove`) a provider: keys are
    /// checked first (a SendGrid key must be a P-256 public key), then sealed.
    public func configure(
        _ provider: IntakeProvider, for credentialID: String, in workspaceID: String, update: (inout IntakeProviderSettings) throws -> Void
    ) async throws {
        _ = try await intakeID(for: credentialID, in: workspaceID)
        var settings = try await providerSettings(credentialID: credentialID, workspaceID: workspaceID)
        try update(&settings)
        if let key = settings.sendgrid?.verificationKey {
            do { _ = try SendGridEvents.publicKey(key) } catch { throw WorkspaceError.invalid("verificationKey", "\(error)") }
        }
        let record = IntakeRecord(intakeID: "", workspaceID: workspaceID, credentialID: credentialID, sealedProviders: nil)
        var sealed: SealedSecret?
        if !settings.isEmpty {
            let json = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
            do { sealed = try vault.seal(Secret(json), context: record.providersContext) } catch {
                throw WorkspaceError(.vault, "The intake's provider settings could not be sealed: \(error)")
            }
        }
        try await store.setIntakeProviders(sealed, credentialID: credentialID, workspaceID: workspaceID)
    }

    /// The intake with this id and its opened provider settings; `nil` for anything else (a
    /// credential id included).
    public func intake(_ intakeID: String) async throws -> (record: IntakeRecord, settings: IntakeProviderSettings)? {
        guard intakeID.hasPrefix("bin_"), intakeID.utf8.count == 30, let record = try await store.intake(intakeID: intakeID) else { return nil }
        return (record, try open(record))
    }

    /// Re-seals every intake's provider settings under the vault's active key: part of key
    /// rotation. Returns how many moved.
    public func resealAll() async throws -> Int {
        var moved = 0
        for record in try await store.allSealedIntakes() {
            guard let sealed = record.sealedProviders, sealed.keyID != vault.keyRing.active.id else { continue }
            let resealed: SealedSecret
            do { resealed = try vault.reseal(sealed, context: record.providersContext) } catch {
                throw WorkspaceError(.vault, "The intake of credential \(record.credentialID) could not be re-sealed: \(error)")
            }
            try await store.setIntakeProviders(resealed, credentialID: record.credentialID, workspaceID: record.workspaceID)
            moved += 1
        }
        return moved
    }

    private func providerSettings(credentialID: String, workspaceID: String) async throws -> IntakeProviderSettings {
        guard let record = try await store.intake(credentialID: credentialID, workspaceID: workspaceID) else { return IntakeProviderSettings() }
        return try open(record)
    }

    private func open(_ record: IntakeRecord) throws -> IntakeProviderSettings {
        guard let sealed = record.sealedProviders else { return IntakeProviderSettings() }
        do {
            let secret = try vault.open(sealed, context: record.providersContext)
            return try secret.withRevealedValue { try JSONDecoder().decode(IntakeProviderSettings.self, from: Data($0.utf8)) }
        } catch {
            throw WorkspaceError(.vault, "The intake's provider settings could not be opened with the current keys")
        }
    }

    /// A new intake id for the credential; the old one stops working at once.
    public func rotate(_ credentialID: String, in workspaceID: String) async throws -> String {
        try await requireCredential(credentialID, workspaceID)
        let id = Self.makeID()
        try await store.replaceIntake(intakeID: id, credentialID: credentialID, workspaceID: workspaceID, at: now())
        return id
    }

    /// `bin_` and 26 base32 characters (130 bits from the system's random source).
    static func makeID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var generator = SystemRandomNumberGenerator()
        return "bin_" + String((0..<26).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
    }

    private func requireCredential(_ credentialID: String, _ workspaceID: String) async throws {
        guard try await credentials.credential(id: credentialID, workspaceID: workspaceID) != nil else {
            throw WorkspaceError(.notFound, "Credential not found")
        }
    }
}

/// An ``IntakeStore`` in memory, for tests.
public actor InMemoryIntakeStore: IntakeStore {
    private var byCredential: [String: IntakeRecord] = [:]

    public init() {}

    public func replaceIntake(intakeID: String, credentialID: String, workspaceID: String, at: Date) {
        let sealed = byCredential[credentialID]?.sealedProviders
        byCredential[credentialID] = IntakeRecord(intakeID: intakeID, workspaceID: workspaceID, credentialID: credentialID, sealedProviders: sealed)
    }

    public func intake(credentialID: String, workspaceID: String) -> IntakeRecord? {
        byCredential[credentialID].flatMap { $0.workspaceID == workspaceID ? $0 : nil }
    }

    public func intake(intakeID: String) -> IntakeRecord? {
        byCredential.values.first { $0.intakeID == intakeID }
    }

    public func setIntakeProviders(_ sealed: SealedSecret?, credentialID: String, workspaceID: String) {
        guard byCredential[credentialID]?.workspaceID == workspaceID else { return }
        byCredential[credentialID]?.sealedProviders = sealed
    }

    public func allSealedIntakes() -> [IntakeRecord] {
        byCredential.values.filter { $0.sealedProviders != nil }.sorted { $0.credentialID < $1.credentialID }
    }
}
