public import Foundation

/// Where each credential's bounce intake id is kept: the capability in
/// `/hooks/deliverability/{intakeId}/{provider}`. SQL in `Storage` (`bounce_intakes`).
public protocol IntakeStore: Sendable {
    /// Sets the credential's intake id, replacing an earlier one (which stops working at once).
    func replaceIntake(intakeID: String, credentialID: String, workspaceID: String, at: Date) async throws
    /// The credential's intake id; `nil` when it has none yet.
    func intakeID(credentialID: String, workspaceID: String) async throws -> String?
    /// The workspace and credential an intake id belongs to.
    func intakeOwner(intakeID: String) async throws -> (workspaceID: String, credentialID: String)?
}

/// Each credential's bounce intake address: an unguessable id (130 random bits), made on first use
/// and rotatable. A credential id, which is not secret, never works in its place.
public struct IntakeService: Sendable {
    private let store: any IntakeStore
    private let credentials: any CredentialStore
    private let now: @Sendable () -> Date

    public init(store: any IntakeStore, credentials: any CredentialStore, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.credentials = credentials
        self.now = now
    }

    /// The credential's intake id, made now if it has none.
    public func intakeID(for credentialID: String, in workspaceID: String) async throws -> String {
        try await requireCredential(credentialID, workspaceID)
        if let existing = try await store.intakeID(credentialID: credentialID, workspaceID: workspaceID) { return existing }
        return try await rotate(credentialID, in: workspaceID)
    }

    /// A new intake id for the credential; the old one stops working at once.
    public func rotate(_ credentialID: String, in workspaceID: String) async throws -> String {
        try await requireCredential(credentialID, workspaceID)
        let id = Self.makeID()
        try await store.replaceIntake(intakeID: id, credentialID: credentialID, workspaceID: workspaceID, at: now())
        return id
    }

    /// Who an intake id belongs to; `nil` for anything else (a credential id included).
    public func owner(of intakeID: String) async throws -> (workspaceID: String, credentialID: String)? {
        guard intakeID.hasPrefix("bin_"), intakeID.utf8.count == 30 else { return nil }
        return try await store.intakeOwner(intakeID: intakeID)
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
    private var byCredential: [String: (intakeID: String, workspaceID: String)] = [:]

    public init() {}

    public func replaceIntake(intakeID: String, credentialID: String, workspaceID: String, at: Date) {
        byCredential[credentialID] = (intakeID, workspaceID)
    }

    public func intakeID(credentialID: String, workspaceID: String) -> String? {
        byCredential[credentialID].flatMap { $0.workspaceID == workspaceID ? $0.intakeID : nil }
    }

    public func intakeOwner(intakeID: String) -> (workspaceID: String, credentialID: String)? {
        byCredential.first { $0.value.intakeID == intakeID }.map { ($0.value.workspaceID, $0.key) }
    }
}
