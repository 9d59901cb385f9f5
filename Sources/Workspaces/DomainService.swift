public import DKIM
public import Foundation
public import Secrets
public import Vault

/// A workspace's sending domains and their DKIM keys: generated (or imported) here, sealed by the
/// vault, published by the user as the DNS records this service writes, and opened for signing.
///
/// The API, the CLI and the Send SMTP Email node go through this type, so the rules live here once.
public struct DomainService: Sendable {
    private let store: any DomainStore
    /// The vault that seals and opens private keys.
    public let vault: Vault
    private let ids: IdentifierSource
    private let now: @Sendable () -> Date

    /// Creates the service.
    public init(
        store: any DomainStore, vault: Vault, ids: IdentifierSource = .system,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.vault = vault
        self.ids = ids
        self.now = { Date(timeIntervalSince1970: (now().timeIntervalSince1970 * 1000).rounded(.down) / 1000) }
    }

    // MARK: Reading

    /// A workspace's domains by name, each with its keys.
    public func list(in workspaceID: String) async throws -> [SendingDomain] {
        try await store.domains(workspaceID: workspaceID)
    }

    /// The domain with this id in the workspace (the API's lookup).
    public func domainByID(_ id: String, in workspaceID: String) async throws -> SendingDomain {
        guard let domain = try await store.domain(id: id, workspaceID: workspaceID) else { throw Self.domainNotFound }
        return domain
    }

    /// The domain with this id, or (for the CLI) this name, in the workspace.
    public func domain(_ idOrName: String, in workspaceID: String) async throws -> SendingDomain {
        if let domain = try await store.domain(id: idOrName, workspaceID: workspaceID) { return domain }
        if let domain = try await store.domain(named: idOrName.lowercased(), workspaceID: workspaceID) { return domain }
        throw Self.domainNotFound
    }

    // MARK: Writing

    /// Adds a key to `input.domain`, creating the domain if the workspace does not have it yet.
    /// The key is generated (RSA 2048 or Ed25519) unless a PEM private key is given. It is active
    /// when the domain has no active key of its algorithm yet; otherwise it waits, inactive, for
    /// its DNS record to be published and ``activate(keyID:domainID:in:)`` to be called.
    public func addKey(_ input: DomainKeyInput, in workspaceID: String) async throws -> SendingDomain {
        guard let rawDomain = input.domain?.trimmingCharacters(in: .whitespaces), !rawDomain.isEmpty else {
            throw WorkspaceError.invalid("domain", "Domain is required")
        }
        let name = rawDomain.lowercased().hasSuffix(".") ? String(rawDomain.lowercased().dropLast()) : rawDomain.lowercased()
        guard DKIMSigner.isValidDomain(name) else {
            throw WorkspaceError.invalid(
                "domain", "Domain must be a domain name such as example.com (an international one in its xn-- form)")
        }
        guard let selector = input.selector?.trimmingCharacters(in: .whitespaces).lowercased(), !selector.isEmpty else {
            throw WorkspaceError.invalid("selector", "Selector is required (for example posthorn1)")
        }
        guard DKIMSigner.isValidSelector(selector) else {
            throw WorkspaceError.invalid("selector", "Selector must be letters, digits and inner hyphens, in dot-separated labels")
        }
        var algorithm: DKIMKey.Algorithm?
        if let text = input.algorithm {
            guard let parsed = DKIMKey.Algorithm(rawValue: text) else {
                throw WorkspaceError.invalid("algorithm", "Algorithm must be rsa-sha256 or ed25519-sha256")
            }
            algorithm = parsed
        }
        let key: DKIMKey
        if let pem = input.privateKey {
            do {
                key = try DKIMKey(pem: pem)
            } catch {
                throw WorkspaceError.invalid("privateKey", error.description)
            }
            if let algorithm, algorithm != key.algorithm {
                throw WorkspaceError.invalid("algorithm", "The private key is \(key.algorithm.rawValue), not \(algorithm.rawValue)")
            }
        } else {
            do {
                key = try DKIMKey.generate(algorithm ?? .rsaSHA256)
            } catch {
                throw WorkspaceError(.vault, error.description)
            }
        }

        var domain: SendingDomain
        if let existing = try await store.domain(named: name, workspaceID: workspaceID) {
            domain = existing
        } else {
            domain = SendingDomain(id: ids.makeID(prefix: "dom"), workspaceID: workspaceID, name: name, createdAt: now())
            do {
                try await store.insertDomain(domain)
            } catch StoreError.duplicate {
                // Another request added it meanwhile: add the key to that one.
                guard let existing = try await store.domain(named: name, workspaceID: workspaceID) else { throw Self.domainNotFound }
                domain = existing
            }
        }
        guard !domain.keys.contains(where: { $0.selector == selector }) else { throw Self.selectorTaken }
        // Keys list in the order they were added: a key made in the same millisecond as the one
        // before it still comes after it.
        let timestamp = max(now(), (domain.keys.map(\.createdAt).max() ?? .distantPast).addingTimeInterval(0.001))
        let active = !domain.keys.contains { $0.active && $0.algorithm == key.algorithm }
        let keyID = ids.makeID(prefix: "dkk")
        let context = SealContext(workspaceID: workspaceID, credentialID: keyID, field: "dkimPrivateKey")
        let sealed: SealedSecret
        do {
            sealed = try vault.seal(key.pem, context: context)
        } catch {
            throw WorkspaceError(.vault, "The private key could not be sealed: \(error)")
        }
        let record = DKIMKeyRecord(
            id: keyID, workspaceID: workspaceID, domainID: domain.id, selector: selector, algorithm: key.algorithm,
            sealedPrivateKey: sealed, publicKey: key.publicKeyBase64, active: active, createdAt: timestamp,
            activatedAt: active ? timestamp : nil)
        do {
            try await store.insertDKIMKey(record)
        } catch StoreError.duplicate(let field) where field == "selector" {
            throw Self.selectorTaken
        }
        return try await self.domain(domain.id, in: workspaceID)
    }

    /// Makes a key the one that signs for its algorithm; the domain's other active key of that
    /// algorithm becomes inactive but stays, its record still published for a grace period.
    public func activate(keyID: String, domainID: String, in workspaceID: String) async throws -> SendingDomain {
        let domain = try await self.domain(domainID, in: workspaceID)
        guard let key = domain.keys.first(where: { $0.id == keyID }) else { throw Self.keyNotFound }
        guard !key.active else { return domain }
        var changed: [DKIMKeyRecord] = []
        for var other in domain.keys where other.active && other.algorithm == key.algorithm {
            other.active = false
            changed.append(other)
        }
        var activated = key
        activated.active = true
        activated.activatedAt = now()
        changed.append(activated)
        try await store.updateDKIMKeys(changed)
        return try await self.domain(domain.id, in: workspaceID)
    }

    /// Removes one key; the domain stays, even with no keys.
    public func removeKey(keyID: String, domainID: String, in workspaceID: String) async throws -> SendingDomain {
        let domain = try await self.domain(domainID, in: workspaceID)
        guard try await store.deleteDKIMKey(id: keyID, domainID: domain.id, workspaceID: workspaceID) else { throw Self.keyNotFound }
        return try await self.domain(domain.id, in: workspaceID)
    }

    /// Removes the domain and all its keys.
    public func delete(_ idOrName: String, in workspaceID: String) async throws {
        let domain = try await self.domain(idOrName, in: workspaceID)
        guard try await store.deleteDomain(id: domain.id, workspaceID: workspaceID) else { throw Self.domainNotFound }
    }

    /// Re-seals every private key under the vault's active key: part of key rotation. Returns how
    /// many keys moved.
    public func resealAll() async throws -> Int {
        var moved: [DKIMKeyRecord] = []
        for var key in try await store.allDKIMKeys() where key.sealedPrivateKey.keyID != vault.keyRing.active.id {
            do {
                key.sealedPrivateKey = try vault.reseal(key.sealedPrivateKey, context: key.privateKeyContext)
            } catch {
                throw WorkspaceError(.vault, "DKIM key \(key.id) could not be re-sealed: \(error)")
            }
            moved.append(key)
        }
        if !moved.isEmpty { try await store.updateDKIMKeys(moved) }
        return moved.count
    }

    // MARK: Signing

    /// The identities that sign a message from `domain` (lowercased): every active key of the
    /// workspace's domain of that name, opened. Empty when the workspace has no such domain or no
    /// active key.
    public func signingIdentities(for domain: String, in workspaceID: String) async throws -> [DKIMSigner.Identity] {
        guard let stored = try await store.domain(named: domain.lowercased(), workspaceID: workspaceID) else { return [] }
        return try stored.keys.filter(\.active).map { record in
            let pem: Secret
            do {
                pem = try vault.open(record.sealedPrivateKey, context: record.privateKeyContext)
            } catch {
                throw WorkspaceError(.vault, "DKIM key \(record.selector) of \(stored.name) could not be opened with the current keys")
            }
            do {
                return DKIMSigner.Identity(domain: stored.name, selector: record.selector, key: try DKIMKey(pem: pem))
            } catch {
                throw WorkspaceError(.vault, "DKIM key \(record.selector) of \(stored.name) is damaged: \(error)")
            }
        }
    }

    static let domainNotFound = WorkspaceError(.notFound, "Domain not found")
    static let keyNotFound = WorkspaceError(.notFound, "This domain has no key with that id")
    static let selectorTaken = WorkspaceError(.conflict, field: "selector", "This domain already has a key with this selector")
}
