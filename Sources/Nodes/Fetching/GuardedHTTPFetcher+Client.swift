import AsyncHTTPClient
import Egress
import NIOCore
import NIOSSL

extension GuardedHTTPFetcher {
    /// The longest a connection attempt may take when the fetch allows longer.
    static let maximumConnectTimeout: Duration = .seconds(10)

    /// The configuration of the one-fetch client: pinned, verified, TLS 1.2+, nothing followed,
    /// nothing decompressed, no proxy.
    func clientConfiguration(for target: FetchTarget, pinnedTo address: IPAddress, timeout: Duration) -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if !additionalTrustRoots.isEmpty {
            tls.additionalTrustRoots = [.certificates(additionalTrustRoots)]
        }

        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(min(timeout, Self.maximumConnectTimeout)), read: TimeAmount(timeout)),
            proxy: nil,
            decompression: .disabled)
        configuration.dnsOverride = Self.dnsOverride(for: target, pinnedTo: address)
        // One attempt: with retries on, a refused connection or a bad certificate would be retried
        // with backoff until the connect timeout, only to fail the same way. The flow engine
        // retries transient step errors itself.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// The pin: the URL's host maps to the vetted address. AsyncHTTPClient then connects to the
    /// address but keeps the host for the `Host` header, SNI and the certificate's name check.
    ///
    /// An IP-literal host needs no entry: the guard vetted that literal, and the client connects to
    /// it without any lookup (its connection target for a literal is the parsed address).
    static func dnsOverride(for target: FetchTarget, pinnedTo address: IPAddress) -> [String: String] {
        if target.hostIsIPv6Literal || IPAddress(target.host) != nil {
            return [:]
        }
        return [target.host: address.description]
    }
}
