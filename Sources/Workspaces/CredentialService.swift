public import Foundation
public import Secrets
public import SMTPCore
public import Vault

/// Creates, changes, lists and deletes a workspace's SMTP credentials, sealing passwords with the
/// vault; and turns a stored credential into an ``SMTPConfiguration`` when a send needs it.
///
/// The API and the CLI both go through this type, so the rules live here once.
public struct CredentialService: Sendable {
    private let store: any CredentialStore
    /// The vault that seals and opens passwords.
    public let vault: Vault
    private let ids: IdentifierSource
    private let now: @Sendable () -> Date

    /// Creates the service.
    public init(
        store: any CredentialStore, vault: Vault, ids: IdentifierSource = .system,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.vault = vault
        self.ids = ids
        // Whole milliseconds: what the database keeps, so a response equals a later read.
        self.now = { Date(timeIntervalSince1970: (now().timeIntervalSince1970 * 1000).rounded(.down) / 1000) }
    }

    // MARK: Reading

    /// A workspace's credentials, by name.
    public func list(in workspaceID: String) async throws -> [SMTPCredential] {
        try await store.credentials(workspaceID: workspaceID)
    }

    /// The credential with this id in the workspace (the API's lookup).
    public func credentialByID(_ id: String, in workspaceID: String) async throws -> SMTPCredential {
        guard let credential = try await store.credential(id: id, workspaceID: workspaceID) else {
            throw WorkspaceError(.notFound, "Credential not found")
        }
        return credential
    }

    /// The credential with this id (or, for the CLI, this name) in the workspace.
    public func credential(_ idOrName: String, in workspaceID: String) async throws -> SMTPCredential {
        if let credential = try await store.credential(id: idOrName, workspaceID: workspaceID) {
            return credential
        }
        if let credential = try await store.credential(named: idOrName, workspaceID: workspaceID) {
            return credential
        }
        throw WorkspaceError(.notFound, "Credential not found")
    }

    // MARK: Writing

    /// Validates `input` as a new credential, seals its password and stores it.
    public func create(_ input: CredentialInput, in workspaceID: String) async throws -> SMTPCredential {
        var (credential, password) = try draft(input, in: workspaceID)
        if let password { try seal(password, into: &credential) }
        do {
            try await store.insertCredential(credential)
        } catch StoreError.duplicate {
            throw Self.nameTaken
        }
        return credential
    }

    /// `input` as a new credential, validated, with its password not yet sealed.
    private func draft(_ input: CredentialInput, in workspaceID: String) throws -> (SMTPCredential, Secret?) {
        guard let name = input.name else { throw WorkspaceError.invalid("name", "Name is required") }
        guard let host = input.host else { throw WorkspaceError.invalid("host", "Server address is required") }
        let security = input.security ?? .startTLS
        let timestamp = now()
        let credential = SMTPCredential(
            id: ids.makeID(prefix: "cred"), workspaceID: workspaceID, name: name, host: host,
            port: input.port ?? (security == .implicitTLS ? 465 : 587), username: input.username ?? nil,
            security: security, acceptUnverifiedCertificates: input.acceptUnverifiedCertificates ?? false,
            minimumTLSVersion: input.minimumTLSVersion ?? .tls12, clientIdentifier: input.clientIdentifier ?? nil,
            caCertificate: input.caCertificate ?? nil, sealedPassword: nil, passwordFingerprint: nil,
            limits: try RateLimits.checked(input.limits ?? nil), deliveryNotifications: input.deliveryNotifications ?? true,
            createdAt: timestamp, updatedAt: timestamp)
        let password = input.password ?? nil
        try validate(credential, newPassword: password, hasStoredPassword: false)
        return (credential, password)
    }

    /// Applies the fields `input` carries; the rest, the password included, keep their stored values.
    ///
    /// - Throws: ``WorkspaceError`` `versionConflict` when `input.version` is not the stored version
    ///   (someone changed it since the caller read it); `validation` naming `password` when the
    ///   change would send the stored password somewhere else (see
    ///   ``requiresPasswordAgain(from:to:)``) and no new password comes with it.
    public func update(_ idOrName: String, in workspaceID: String, with input: CredentialInput) async throws -> SMTPCredential {
        // Without a version from the caller, a change that raced another is applied again on top of
        // it (the fields given still win); with one, the caller decides.
        for _ in 1...3 {
            do {
                return try await updateOnce(idOrName, in: workspaceID, with: input)
            } catch StoreError.versionConflict where input.version == nil {
                continue
            } catch StoreError.versionConflict {
                throw Self.versionConflict
            }
        }
        throw Self.versionConflict
    }

    private func updateOnce(_ idOrName: String, in workspaceID: String, with input: CredentialInput) async throws -> SMTPCredential {
        let stored = try await self.credential(idOrName, in: workspaceID)
        if let version = input.version, version != stored.version { throw Self.versionConflict }
        var credential = try applying(input, to: stored)
        switch input.password {
        case .none: break
        case .some(.none):
            credential.sealedPassword = nil
            credential.passwordFingerprint = nil
        case .some(.some(let password)):
            try seal(password, into: &credential)
        }
        credential.updatedAt = now()
        credential.version = stored.version + 1
        do {
            guard try await store.updateCredential(credential) else { throw WorkspaceError(.notFound, "Credential not found") }
        } catch StoreError.duplicate {
            throw Self.nameTaken
        }
        return credential
    }

    /// `stored` with the fields `input` carries, validated; the password is neither sealed nor
    /// cleared yet. A change of destination without the password again is refused.
    private func applying(_ input: CredentialInput, to stored: SMTPCredential) throws -> SMTPCredential {
        if stored.oauth != nil { try Self.refuseOAuthChanges(input, to: stored) }
        var credential = stored
        if let name = input.name { credential.name = name }
        if let host = input.host { credential.host = host }
        if let port = input.port { credential.port = port }
        if let username = input.username { credential.username = username }
        if let security = input.security { credential.security = security }
        if let accept = input.acceptUnverifiedCertificates { credential.acceptUnverifiedCertificates = accept }
        if let version = input.minimumTLSVersion { credential.minimumTLSVersion = version }
        if let identifier = input.clientIdentifier { credential.clientIdentifier = identifier }
        if let certificate = input.caCertificate { credential.caCertificate = certificate }
        if let limits = input.limits { credential.limits = try RateLimits.checked(limits) }
        if let notifications = input.deliveryNotifications { credential.deliveryNotifications = notifications }
        let keepsPassword = input.password == nil && credential.hasPassword
        if keepsPassword && Self.requiresPasswordAgain(from: stored, to: credential) {
            throw WorkspaceError.invalid("password", "Enter the password again to change where it is sent")
        }
        try validate(credential, newPassword: input.password ?? nil, hasStoredPassword: keepsPassword)
        return credential
    }

    /// Deletes a credential.
    public func delete(_ idOrName: String, in workspaceID: String) async throws {
        let credential = try await self.credential(idOrName, in: workspaceID)
        guard try await store.deleteCredential(id: credential.id, workspaceID: workspaceID) else {
            throw WorkspaceError(.notFound, "Credential not found")
        }
    }

    /// Re-seals every stored password under the vault's active key: the second half of key rotation.
    /// Returns how many passwords moved.
    public func resealAll() async throws -> Int {
        var moved = 0
        for var credential in try await store.allCredentials() {
            guard let sealed = credential.sealedPassword, sealed.keyID != vault.keyRing.active.id else { continue }
            let context = credential.passwordContext
            do {
                let resealed = try vault.reseal(sealed, context: context)
                credential.sealedPassword = resealed
                credential.passwordFingerprint = vault.fingerprint(of: try vault.open(resealed, context: context), context: context)
                credential.version += 1
            } catch {
                throw WorkspaceError(.vault, "Credential \(credential.id) could not be re-sealed: \(error)")
            }
            do {
                _ = try await store.updateCredential(credential)
            } catch StoreError.versionConflict {
                throw WorkspaceError(.versionConflict, "Credential \(credential.id) changed during re-sealing; run the rotation again")
            }
            moved += 1
        }
        return moved
    }

    // MARK: Using

    /// The connection settings for a send or a connection test, validated again (a row edited in
    /// the database cannot bring back port 25) and with the password opened for this use only.
    ///
    /// An OAuth credential has no password: its configuration comes from
    /// ``configuration(for:accessToken:timeouts:)`` with a token from ``OAuthService``.
    public func configuration(for credential: SMTPCredential, timeouts: SMTPTimeouts = SMTPTimeouts()) throws -> SMTPConfiguration {
        guard credential.oauth == nil else {
            throw WorkspaceError.invalid("credential", "An OAuth credential connects with an access token, not a password")
        }
        let credentials = try storedPassword(of: credential).map { SMTPCredentials.password(username: credential.username ?? "", password: $0) }
        return try configuration(for: credential, credentials: credentials, timeouts: timeouts)
    }

    /// The connection settings of an OAuth credential for a send or a test: XOAUTH2 with
    /// `accessToken` (current, from ``OAuthService/accessToken(for:)``) and the account's address.
    public func configuration(
        for credential: SMTPCredential, accessToken: Secret, timeouts: SMTPTimeouts = SMTPTimeouts()
    ) throws -> SMTPConfiguration {
        try configuration(for: credential, credentials: .oauth2(username: credential.username ?? "", accessToken: accessToken), timeouts: timeouts)
    }

    /// The connection settings of a form not saved yet, for *Test connection* in the dialog: a new
    /// credential (`credentialID` `nil`), or the changes to a stored one, whose password stands in
    /// when the form has none, unless the change sends it somewhere else (then the form must
    /// carry it again, as when saving). The same rules as saving; nothing is stored.
    public func draftConfiguration(
        _ input: CredentialInput, in workspaceID: String, credentialID: String?, timeouts: SMTPTimeouts = SMTPTimeouts()
    ) async throws -> SMTPConfiguration {
        guard let credentialID else {
            // A test needs no name yet: the dialog may test before the user named the credential.
            var input = input
            if input.name == nil { input.name = "connection test" }
            let (credential, password) = try draft(input, in: workspaceID)
            return try configuration(for: credential, password: password, timeouts: timeouts)
        }
        let stored = try await credentialByID(credentialID, in: workspaceID)
        guard stored.oauth == nil else {
            throw WorkspaceError.invalid("credential", "An OAuth credential is tested as stored; connect it again to change its server")
        }
        let credential = try applying(input, to: stored)
        let password: Secret? = switch input.password {
        case .none: try storedPassword(of: stored)
        case .some(let password): password
        }
        return try configuration(for: credential, password: password, timeouts: timeouts)
    }

    /// Keeps the outcome of a stored credential's connection test, made now, for the Credentials page.
    public func recordTest(ok: Bool, code: String?, tlsVersion: String?, of credential: SMTPCredential) async throws {
        try await store.recordTest(
            CredentialTestRecord(ok: ok, testedAt: now(), code: code, tlsVersion: tlsVersion),
            credentialID: credential.id, workspaceID: credential.workspaceID)
    }

    /// The latest test of each of a workspace's credentials, by credential id.
    public func lastTests(in workspaceID: String) async throws -> [String: CredentialTestRecord] {
        try await store.lastTests(workspaceID: workspaceID)
    }

    private func storedPassword(of credential: SMTPCredential) throws -> Secret? {
        guard let sealed = credential.sealedPassword else { return nil }
        do {
            return try vault.open(sealed, context: credential.passwordContext)
        } catch {
            throw WorkspaceError(.vault, "The stored password could not be opened with the current keys")
        }
    }

    private func configuration(for credential: SMTPCredential, password: Secret?, timeouts: SMTPTimeouts) throws -> SMTPConfiguration {
        let credentials = password.map { SMTPCredentials.password(username: credential.username ?? "", password: $0) }
        return try configuration(for: credential, credentials: credentials, timeouts: timeouts)
    }

    private func configuration(
        for credential: SMTPCredential, credentials: SMTPCredentials?, timeouts: SMTPTimeouts
    ) throws -> SMTPConfiguration {
        do {
            return try SMTPConfiguration(
                host: credential.host, port: credential.port, security: credential.security,
                minimumTLSVersion: credential.minimumTLSVersion,
                acceptUnverifiedCertificates: credential.acceptUnverifiedCertificates,
                additionalTrustedCertificatesPEM: credential.caCertificate, clientIdentifier: credential.clientIdentifier,
                credentials: credentials, timeouts: timeouts)
        } catch {
            throw WorkspaceError.invalid(error.field, error.message)
        }
    }

    // MARK: Rules

    /// An OAuth credential's server, TLS settings and username come from its provider and the
    /// account signed in with: changing them means connecting again (a new sign-in), and it has
    /// no password. A field sent with its stored value is no change.
    private static func refuseOAuthChanges(_ input: CredentialInput, to stored: SMTPCredential) throws {
        let changed: [(String, Bool)] = [
            ("host", input.host.map { $0 != stored.host } ?? false),
            ("port", input.port.map { $0 != stored.port } ?? false),
            ("security", input.security.map { $0 != stored.security } ?? false),
            ("acceptUnverifiedCertificates", input.acceptUnverifiedCertificates.map { $0 != stored.acceptUnverifiedCertificates } ?? false),
            ("minimumTLSVersion", input.minimumTLSVersion.map { $0 != stored.minimumTLSVersion } ?? false),
            ("caCertificate", input.caCertificate.map { $0 != stored.caCertificate } ?? false),
            ("username", input.username.map { $0 != stored.username } ?? false),
        ]
        if let field = changed.first(where: \.1)?.0 {
            throw WorkspaceError.invalid(field, "Connect again to change this for an OAuth credential (it comes from the provider and the account)")
        }
        if input.password != nil {
            throw WorkspaceError.invalid("password", "An OAuth credential has no password; it signs in with its provider")
        }
    }

    static let nameTaken = WorkspaceError(.conflict, field: "name", "A credential with this name already exists in this workspace")

    static let versionConflict = WorkspaceError(
        .versionConflict, field: "version", "The credential was changed since you loaded it; load it again and repeat your change")

    /// Whether changing `old` into `new` changes where the password goes or how well it is
    /// protected on the way: the server (host, port), the encryption (security, minimum TLS
    /// version) or whom it trusts (unverified certificates, the extra CA).
    ///
    /// Such a change must come with the password typed again: otherwise anyone who may edit the
    /// credential, but was never told its password, could point it at a server of theirs, press
    /// *Test connection*, and receive the password in the AUTH exchange.
    public static func requiresPasswordAgain(from old: SMTPCredential, to new: SMTPCredential) -> Bool {
        old.host != new.host || old.port != new.port || old.security != new.security
            || old.acceptUnverifiedCertificates != new.acceptUnverifiedCertificates
            || old.minimumTLSVersion != new.minimumTLSVersion || old.caCertificate != new.caCertificate
    }

    private func seal(_ password: Secret, into credential: inout SMTPCredential) throws {
        let context = credential.passwordContext
        do {
            credential.sealedPassword = try vault.seal(password, context: context)
        } catch {
            throw WorkspaceError(.vault, "The password could not be sealed")
        }
        credential.passwordFingerprint = vault.fingerprint(of: password, context: context)
    }

    /// Every rule of the credential form. The connection rules (port 25, port range, host, EHLO
    /// name, CA bundle) are `SMTPConfiguration`'s, so they are checked by building one.
    private func validate(_ credential: SMTPCredential, newPassword: Secret?, hasStoredPassword: Bool) throws {
        try WorkspaceService.validateName(credential.name, field: "name")
        if let username = credential.username {
            guard !username.isEmpty, username.utf8.count <= 320 else {
                throw WorkspaceError.invalid("username", "Username must be 1 to 320 bytes")
            }
            guard !Self.hasForbiddenCharacters(username) else {
                throw WorkspaceError.invalid("username", "Username contains forbidden characters")
            }
        }
        if let newPassword {
            try newPassword.withRevealedValue { value in
                guard !value.isEmpty, value.utf8.count <= 1024 else {
                    throw WorkspaceError.invalid("password", "Password must be 1 to 1024 bytes")
                }
                guard !Self.hasForbiddenCharacters(value) else {
                    throw WorkspaceError.invalid("password", "Password contains forbidden characters")
                }
            }
        }
        let hasPassword = newPassword != nil || hasStoredPassword
        // An OAuth credential's username is the account signed in with; it has a token, no password.
        if credential.oauth == nil && credential.username != nil && !hasPassword {
            throw WorkspaceError.invalid("password", "Password is required when a username is set")
        }
        if credential.oauth == nil && credential.username == nil && hasPassword {
            throw WorkspaceError.invalid("username", "Username is required when a password is set")
        }
        do {
            _ = try SMTPConfiguration(
                host: credential.host, port: credential.port, security: credential.security,
                minimumTLSVersion: credential.minimumTLSVersion,
                acceptUnverifiedCertificates: credential.acceptUnverifiedCertificates,
                additionalTrustedCertificatesPEM: credential.caCertificate, clientIdentifier: credential.clientIdentifier)
        } catch {
            throw WorkspaceError.invalid(error.field, error.message)
        }
    }

    /// CR, LF and NUL would end the AUTH line early; other control characters have no place in a login.
    private static func hasForbiddenCharacters(_ value: String) -> Bool {
        value.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
