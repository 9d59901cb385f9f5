import Foundation
import SMTP
import SMTPCore
import Secrets
import Vault
import Workspaces

/// Models with deterministic ids and millisecond-precision dates, which every store keeps exactly.
enum Fixture {
    /// A real vault, so sealed passwords are what production stores.
    static let vault = Vault(keyRing: KeyRing(single: MasterKey.generate()))

    /// `milliseconds` after 1970, the precision the SQL store keeps.
    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    static func workspace(_ id: String, name: String? = nil, createdAt milliseconds: Int64 = 1_700_000_000_123) -> Workspace {
        Workspace(id: id, name: name ?? "Workspace \(id)", createdAt: date(milliseconds))
    }

    /// A credential with every optional set unless told otherwise.
    static func credential(
        _ id: String, workspaceID: String, name: String? = nil, username: String? = "mailer@example.com",
        security: SMTPSecurity = .startTLS, acceptUnverifiedCertificates: Bool = false,
        minimumTLSVersion: SMTPConfiguration.MinimumTLSVersion = .tls12,
        clientIdentifier: String? = "posthorn.example.com", caCertificate: String? = pemLikeText,
        password: String? = "correct horse battery staple",
        createdAt: Int64 = 1_700_000_000_123, updatedAt: Int64 = 1_700_000_111_999
    ) throws -> SMTPCredential {
        var credential = SMTPCredential(
            id: id, workspaceID: workspaceID, name: name ?? "Credential \(id)", host: "smtp.example.com", port: 587,
            username: username, security: security, acceptUnverifiedCertificates: acceptUnverifiedCertificates,
            minimumTLSVersion: minimumTLSVersion, clientIdentifier: clientIdentifier, caCertificate: caCertificate,
            sealedPassword: nil, passwordFingerprint: nil, createdAt: date(createdAt), updatedAt: date(updatedAt)
        )
        if let password {
            try seal(Secret(password), into: &credential)
        }
        return credential
    }

    /// Seals `password` for `credential` with the real vault and stores it the way the store will
    /// read it back: through `SealedSecret(encoded:)`.
    static func seal(_ password: Secret, into credential: inout SMTPCredential) throws {
        let context = credential.passwordContext
        let sealed = try vault.seal(password, context: context)
        credential.sealedPassword = try SealedSecret(encoded: sealed.encoded)
        credential.passwordFingerprint = vault.fingerprint(of: password, context: context)
    }

    /// Multi-line text with the characters a PEM bundle has, to check TEXT round trips verbatim.
    static let pemLikeText = """
        -----BEGIN CERTIFICATE-----
        MIIBszCCAVmgAwIBAgIUZ+/=
        -----END CERTIFICATE-----

        """
}
