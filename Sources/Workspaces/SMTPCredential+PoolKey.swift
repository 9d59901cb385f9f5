import Secrets
import Crypto
import Foundation
public import SMTPCore

extension SMTPCredential {
    /// The pool key for sends with this credential: scoped to workspace and credential, versioned by
    /// the vault's password fingerprint and every connection setting, so a changed password or
    /// setting never reuses a session opened with the old one. An OAuth credential's key names its
    /// provider instead of a fingerprint: its refresh token may rotate at any refresh, and a session
    /// signed in with an earlier access token stays good.
    public var poolKey: PoolKey {
        let secret = oauth.map { "oauth2:\($0.providerID)" } ?? passwordFingerprint ?? "-"
        let settings = [
            secret, host, String(port), username ?? "-", security.rawValue,
            String(acceptUnverifiedCertificates), minimumTLSVersion.rawValue, clientIdentifier ?? "-",
            caCertificate ?? "-",
        ]
        // Length-prefixed so no two setting lists hash alike.
        var bytes: [UInt8] = []
        for value in settings {
            bytes.append(contentsOf: withUnsafeBytes(of: UInt32(value.utf8.count).bigEndian, Array.init))
            bytes.append(contentsOf: value.utf8)
        }
        let digest = SHA256.hash(data: bytes).prefix(12).hexString
        return PoolKey(scope: "\(workspaceID)/\(id)", version: digest)
    }
}
