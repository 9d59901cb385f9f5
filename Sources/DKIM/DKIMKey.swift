public import Crypto
import CryptoExtras
public import Foundation
public import Secrets

/// A DKIM signing key: RSA (`rsa-sha256`, RFC 6376) or Ed25519 (`ed25519-sha256`, RFC 8463).
public struct DKIMKey: Sendable {
    /// The signature algorithm, as the `a=` tag names it.
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        case rsaSHA256 = "rsa-sha256"
        case ed25519SHA256 = "ed25519-sha256"
    }

    enum Backing: @unchecked Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    let backing: Backing

    /// Why a key was refused.
    public struct KeyError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The algorithm this key signs with.
    public var algorithm: Algorithm {
        switch backing {
        case .rsa: .rsaSHA256
        case .ed25519: .ed25519SHA256
        }
    }

    /// A new key: RSA of 2048 bits, or Ed25519.
    public static func generate(_ algorithm: Algorithm) throws(KeyError) -> DKIMKey {
        switch algorithm {
        case .rsaSHA256:
            do {
                return DKIMKey(backing: .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048)))
            } catch {
                throw KeyError(description: "An RSA key could not be generated")
            }
        case .ed25519SHA256:
            return DKIMKey(backing: .ed25519(Curve25519.Signing.PrivateKey()))
        }
    }

    /// Reads a private key in PEM (PKCS #8, or PKCS #1 for RSA), as `openssl genpkey` writes it.
    /// RSA keys need 2048 bits or more (RFC 8301 allows 1024, which mailbox providers distrust).
    public init(pem: Secret) throws(KeyError) {
        let text = pem.revealedValue
        if let key = try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: text) {
            guard key.keySizeInBits >= 2048 else {
                throw KeyError(description: "An RSA key for DKIM needs at least 2048 bits")
            }
            backing = .rsa(key)
        } else if let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: text) {
            backing = .ed25519(key)
        } else {
            throw KeyError(description: "The private key must be an RSA or Ed25519 key in PEM")
        }
    }

    init(backing: Backing) {
        self.backing = backing
    }

    /// The private key in PKCS #8 PEM, for sealing in the vault.
    public var pem: Secret {
        switch backing {
        case .rsa(let key): Secret(key.pkcs8PEMRepresentation)
        case .ed25519(let key): Secret(key.pemRepresentation)
        }
    }

    /// The public key as the DNS record's `p=` tag carries it: base64 of the SubjectPublicKeyInfo
    /// for RSA, of the raw 32 bytes for Ed25519 (RFC 8463 §4.2).
    public var publicKeyBase64: String {
        switch backing {
        case .rsa(let key): key.publicKey.derRepresentation.base64EncodedString()
        case .ed25519(let key): key.publicKey.rawRepresentation.base64EncodedString()
        }
    }

    /// The TXT record to publish at `selector._domainkey.domain`: `v=DKIM1; k=rsa; p=…`.
    public var dnsRecordValue: String {
        "v=DKIM1; k=\(algorithm == .rsaSHA256 ? "rsa" : "ed25519"); p=\(publicKeyBase64)"
    }

    /// The signature over `data`'s SHA-256 hash: RSASSA-PKCS1-v1_5 for RSA, PureEdDSA over the
    /// hash for Ed25519 (RFC 8463 §3).
    func sign(_ data: [UInt8]) throws(KeyError) -> Data {
        let digest = SHA256.hash(data: data)
        do {
            switch backing {
            case .rsa(let key):
                return try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation
            case .ed25519(let key):
                return try key.signature(for: Data(digest))
            }
        } catch {
            throw KeyError(description: "The message could not be signed")
        }
    }
}
