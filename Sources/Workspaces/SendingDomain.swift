public import DKIM
public import Foundation
public import Vault
public import Secrets

/// A domain a workspace sends from and signs for with DKIM: one or more keys, each under its own
/// selector. Every active key signs the messages from the domain, so an RSA and an Ed25519
/// signature can travel together; an inactive key is kept (its record may stay published while
/// mail it signed is still in flight) until it is removed.
public struct SendingDomain: Sendable, Hashable, Identifiable {
    public var id: String
    public var workspaceID: String
    /// The domain, lowercase (`example.com`; an internationalized one in its `xn--` form).
    public var name: String
    public var createdAt: Date
    /// Oldest first.
    public var keys: [DKIMKeyRecord]

    public init(id: String, workspaceID: String, name: String, createdAt: Date, keys: [DKIMKeyRecord] = []) {
        self.id = id
        self.workspaceID = workspaceID
        self.name = name
        self.createdAt = createdAt
        self.keys = keys
    }
}

/// A stored DKIM key: the private key sealed by the vault (bound to the workspace and the key's
/// id), the public half in the clear for the DNS record.
public struct DKIMKeyRecord: Sendable, Hashable, Identifiable {
    public var id: String
    public var workspaceID: String
    public var domainID: String
    /// The `s=` tag: the record lives at `selector._domainkey.domain`.
    public var selector: String
    public var algorithm: DKIMKey.Algorithm
    /// The PEM private key, sealed.
    public var sealedPrivateKey: SealedSecret
    /// The `p=` value: base64 of the public key.
    public var publicKey: String
    public var active: Bool
    public var createdAt: Date
    /// When it last became active; `nil` for a key never activated.
    public var activatedAt: Date?

    public init(
        id: String, workspaceID: String, domainID: String, selector: String, algorithm: DKIMKey.Algorithm,
        sealedPrivateKey: SealedSecret, publicKey: String, active: Bool, createdAt: Date, activatedAt: Date?
    ) {
        self.id = id
        self.workspaceID = workspaceID
        self.domainID = domainID
        self.selector = selector
        self.algorithm = algorithm
        self.sealedPrivateKey = sealedPrivateKey
        self.publicKey = publicKey
        self.active = active
        self.createdAt = createdAt
        self.activatedAt = activatedAt
    }

    /// What the vault binds the private key to: this workspace and this key.
    public var privateKeyContext: SealContext {
        SealContext(workspaceID: workspaceID, credentialID: id, field: "dkimPrivateKey")
    }

    /// The TXT record that publishes the public key (RFC 6376 §3.6.1; RFC 8463 for Ed25519).
    public func dnsRecord(domain: String) -> DNSTXTRecord {
        let type = algorithm == .rsaSHA256 ? "rsa" : "ed25519"
        return DNSTXTRecord(name: "\(selector)._domainkey.\(domain)", value: "v=DKIM1; k=\(type); p=\(publicKey)")
    }
}

/// A TXT record to publish.
public struct DNSTXTRecord: Sendable, Hashable {
    public var name: String
    public var type = "TXT"
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// The value as DNS carries it: character-strings of at most 255 bytes, which a resolver joins
    /// without a separator (RFC 6376 §3.6.2.2). Some DNS providers want them entered so.
    public var strings: [String] {
        var parts: [String] = []
        var rest = Substring(value)
        while !rest.isEmpty {
            // The values are ASCII, so a byte is a character.
            parts.append(String(rest.prefix(255)))
            rest = rest.dropFirst(255)
        }
        return parts
    }
}

/// What `POST /api/v1/domains` (and `posthorn domain add`) asks for: a key for a domain,
/// generated or imported.
public struct DomainKeyInput: Sendable {
    public var domain: String?
    public var selector: String?
    /// `rsa-sha256` when neither this nor a private key is given.
    public var algorithm: String?
    /// An existing private key to import (PEM) instead of generating one.
    public var privateKey: Secret?

    public init(domain: String?, selector: String?, algorithm: String? = nil, privateKey: Secret? = nil) {
        self.domain = domain
        self.selector = selector
        self.algorithm = algorithm
        self.privateKey = privateKey
    }
}
