public import AsyncHTTPClient
public import Egress
public import Flows
public import Logging
public import NIOCore
import NIOSSL

/// The network ``ResourceFetcher``: AsyncHTTPClient behind the egress guard.
///
/// For every fetch, in this order, each refusal a ``NodeError`` with a ``FetchErrorCode``:
/// 1. the URL must be absolute `http:`/`https:` with a host and no user info (`EURL`), and the
///    method and headers sendable (`EREQUEST`) — nothing has touched the network yet;
/// 2. the egress guard resolves the host once and vets every answer (`EPOLICY`, `EDNS`);
/// 3. the connection goes to the vetted address and nowhere else, while the `Host` header, TLS SNI
///    and the certificate check use the URL's host (see "Pinning" below);
/// 4. a 3xx is `EREDIRECT` and is not followed; anything else outside 2xx is `EHTTP`;
/// 5. a `Content-Length` above the limit fails before the body is read, and the body is counted
///    while it streams: the byte after the limit ends the fetch and the connection (`ETOOLARGE`);
/// 6. one timeout covers everything from connecting to the last body byte (`ETIMEDOUT`).
///
/// ## Pinning
///
/// AsyncHTTPClient 1.37.0 pins only through `HTTPClient.Configuration.dnsOverride`, a property of
/// the *client*: a request cannot carry its own override, and the connection pool keys connections
/// by the overridden target. So each fetch builds a short-lived client whose configuration maps the
/// URL's host to the one address the guard vetted, runs the request on the shared event loop group,
/// and shuts the client down. The cost is a fresh connection (and TLS handshake) per fetch, which
/// attachments and single HTTP steps can afford; a client cached per pinned host would have to be
/// re-keyed on every new DNS answer and shut down by a service, for a saving nobody has measured.
/// Rewriting the URL to the IP literal instead would lose SNI and check the certificate against
/// the address, so that is not an option for `https:`.
///
/// TLS: the certificate is verified (chain and host name) and TLS 1.2 is the minimum. NIOSSL's name
/// check (RFC 6125) also accepts a certificate carrying the connected IP address as a name, so a
/// CA-issued certificate for the pinned address passes even if it does not name the host. Redirects,
/// decompression (a small compressed body can expand past any limit) and proxies are off.
///
/// Logging: one debug line per fetch with the method, `host:port`, status and byte count; never
/// the path or query (they may hold tokens), never a header value. AsyncHTTPClient itself gets no
/// logger, because at trace level it prints whole response parts, headers included.
public struct GuardedHTTPFetcher: ResourceFetcher {
    private let egress: EgressGuard
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    /// Extra roots trusted besides the system's; tests use a private CA.
    let additionalTrustRoots: [NIOSSLCertificate]
    /// Counts fetches by outcome.
    public var metrics = NodeMetrics()

    /// Creates a fetcher.
    ///
    /// - Parameters:
    ///   - egress: Vets every host and names the address to pin to.
    ///   - eventLoopGroup: Where the per-fetch clients run; AsyncHTTPClient's shared group by default.
    ///   - logger: Receives one debug line per fetch.
    public init(
        egress: EgressGuard, eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup, logger: Logger
    ) {
        self.init(egress: egress, eventLoopGroup: eventLoopGroup, logger: logger, additionalTrustRoots: [])
    }

    /// Creates a fetcher that also trusts the certificates in `additionalTrustedCertificatesPEM`
    /// (tests: a private CA).
    init(
        egress: EgressGuard, eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup, logger: Logger,
        additionalTrustedCertificatesPEM: String
    ) throws {
        self.init(
            egress: egress, eventLoopGroup: eventLoopGroup, logger: logger,
            additionalTrustRoots: try NIOSSLCertificate.fromPEMBytes(Array(additionalTrustedCertificatesPEM.utf8)))
    }

    private init(egress: EgressGuard, eventLoopGroup: any EventLoopGroup, logger: Logger, additionalTrustRoots: [NIOSSLCertificate]) {
        self.egress = egress
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.additionalTrustRoots = additionalTrustRoots
    }

    public func fetch(_ request: FetchRequest, field: String) async throws(NodeError) -> FetchedResource {
        let target = try FetchTarget(validating: request.url, field: field)
        try request.validate(field: field)

        let pinned: PinnedHost
        do {
            pinned = try await egress.vet(host: target.host)
        } catch {
            let code = error.isPolicyRefusal ? FetchErrorCode.policy : FetchErrorCode.dns
            metrics.fetch(outcome: NodeMetrics.label(code))
            logFailure(request, target, code: code)
            throw FetchFailure.egress(error, field: field)
        }

        let client = HTTPClient(
            eventLoopGroup: eventLoopGroup,
            configuration: clientConfiguration(for: target, pinnedTo: pinned.address, timeout: request.timeout))
        let outcome = await FetchDeadline.run(within: request.timeout) {
            FetchFailure.timedOut(field: field, target: target, timeout: request.timeout, request: request)
        } operation: { () async throws(NodeError) -> FetchedResource in
            try await exchange(request, target: target, field: field, on: client)
        }
        // Shutting down also cancels whatever a refusal or the deadline left in flight.
        try? await client.shutdown()

        switch outcome {
        case .success(let resource):
            metrics.fetch(outcome: "2xx")
            logger.debug(
                "fetched",
                metadata: [
                    "fetch.method": "\(request.method)", "fetch.host": "\(target.authority)",
                    "fetch.address": "\(pinned.address)", "fetch.status": "\(resource.status)",
                    "fetch.bytes": "\(resource.body.count)",
                ])
            return resource
        case .failure(let error):
            metrics.fetch(outcome: NodeMetrics.label(error.code))
            logFailure(request, target, code: error.code, status: error.details?.statusCode)
            throw error
        }
    }

    private func logFailure(_ request: FetchRequest, _ target: FetchTarget, code: String, status: Int64? = nil) {
        var metadata: Logger.Metadata = [
            "fetch.method": "\(request.method)", "fetch.host": "\(target.authority)", "fetch.error.code": "\(code)",
        ]
        if let status { metadata["fetch.status"] = "\(status)" }
        logger.debug("fetch failed", metadata: metadata)
    }
}

extension JSONValue {
    /// The `status` member of an error's details, if any.
    fileprivate var statusCode: Int64? {
        if case .object(let members) = self, case .integer(let status)? = members["status"] { return status }
        return nil
    }
}
