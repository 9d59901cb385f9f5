import Crypto
import Foundation
public import NIOSSL
import SwiftASN1
import X509

/// A certificate authority made up at test time, so no key or certificate is ever committed.
///
/// Issue server certificates for any names, with the validity you want, and hand the CA's PEM to the
/// client as its extra trust root; a second authority stands in for "an unknown CA".
public struct TestCertificateAuthority: Sendable {
    private let key: P256.Signing.PrivateKey
    private let certificate: Certificate
    private let name: DistinguishedName

    /// The CA certificate in PEM: what a client is told to trust (`--ca-file`, `caCertificate`).
    public let certificatePEM: String

    /// Creates a fresh authority with a new P-256 key.
    public init(commonName: String = "Posthorn Test CA") throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        certificatePEM = try certificate.serializeAsPEM().pemString
        self.key = key
        self.name = name
    }

    /// A server identity signed by this authority.
    ///
    /// - Parameters:
    ///   - dnsNames: subject alternative names (`localhost`).
    ///   - ipAddresses: IPv4 or IPv6 subject alternative names as raw bytes (`[127, 0, 0, 1]`).
    ///   - validFor: from one hour ago for this long; negative makes an expired certificate.
    public func issueServerIdentity(
        dnsNames: [String] = ["localhost"], ipAddresses: [[UInt8]] = [[127, 0, 0, 1]],
        validFor: Double = 86_400
    ) throws -> TestServerIdentity {
        let leafKey = P256.Signing.PrivateKey()
        let now = Date()
        let names = dnsNames.map { GeneralName.dnsName($0) }
            + ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0[...])) }
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(leafKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: validFor > 0 ? now + validFor : now - 60,
            issuer: name, subject: try DistinguishedName { CommonName(dnsNames.first ?? "test server") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        var serializer = DER.Serializer()
        try serializer.serialize(leaf)
        return TestServerIdentity(
            certificate: try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der),
            privateKey: try NIOSSLPrivateKey(bytes: Array(leafKey.derRepresentation), format: .der))
    }
}

/// A server certificate and its key, ready for a NIOSSL server context.
public struct TestServerIdentity: Sendable {
    public let certificate: NIOSSLCertificate
    public let privateKey: NIOSSLPrivateKey

    /// A server TLS configuration presenting this identity, limited to the given versions.
    public func serverConfiguration(
        minimumVersion: TLSVersion = .tlsv12, maximumVersion: TLSVersion = .tlsv13
    ) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(certificate)], privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = minimumVersion
        configuration.maximumTLSVersion = maximumVersion
        if maximumVersion == .tlsv11 || maximumVersion == .tlsv1 {
            // TLS 1.0/1.1 need the legacy CBC suites; BoringSSL serves them when asked.
            configuration.cipherSuites = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA"
        }
        return configuration
    }
}
