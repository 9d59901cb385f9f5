import Flows
@testable import Nodes
import Testing
import TestSupport

/// Certificate checks over a real TLS handshake. The TLS endpoint is TestSupport's fake SMTP server
/// in implicit-TLS mode: the handshake is all these tests need, and what follows it is not HTTP.
@Suite("GuardedHTTPFetcher TLS")
struct FetchTLSTests {
    @Test("a certificate from an untrusted CA fails the handshake: ETLS, permanent")
    func untrustedCertificate() async throws {
        let authority = try TestCertificateAuthority()
        let identity = try authority.issueServerIdentity()
        let server = try await FakeSMTPServer.start(.init(tls: .implicit(identity.serverConfiguration())))
        let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
        let error = await FetchFixtures.failure(
            fetcher, FetchRequest(url: "https://localhost:\(server.port)/report.pdf", byteLimit: 1000, timeout: .seconds(5)))
        await server.shutdown()
        #expect(error?.code == "ETLS")
        #expect(error?.disposition == .permanent)
        #expect(error?.message.hasPrefix("attachments[0].url: the TLS handshake with localhost:\(server.port) failed") == true)
    }

    @Test("the certificate is checked against the URL's host, not the pinned address")
    func certificateNameIsTheURLHost() async throws {
        let authority = try TestCertificateAuthority()
        // Valid for `localhost` only. No IP address name: NIOSSL also accepts a certificate whose
        // IP address name matches the connected address, whatever host name was asked for.
        let identity = try authority.issueServerIdentity(dnsNames: ["localhost"], ipAddresses: [])
        let server = try await FakeSMTPServer.start(.init(tls: .implicit(identity.serverConfiguration())))
        let resolver = FetchStaticResolver(["localhost": ["127.0.0.1"], "files.example.test": ["127.0.0.1"]])
        let fetcher = try FetchFixtures.fetcher(
            allowlist: "127.0.0.1/32", resolver: resolver, trustedCertificatePEM: authority.certificatePEM)

        let mismatched = await FetchFixtures.failure(
            fetcher,
            FetchRequest(url: "https://files.example.test:\(server.port)/", byteLimit: 1000, timeout: .seconds(5)))
        // The same server under the name its certificate has: the handshake passes, and the
        // exchange fails only because an SMTP greeting is not an HTTP response.
        let matched = await FetchFixtures.failure(
            fetcher, FetchRequest(url: "https://localhost:\(server.port)/", byteLimit: 1000, timeout: .seconds(5)))
        await server.shutdown()

        #expect(mismatched?.code == "ETLS")
        #expect(matched != nil)
        #expect(matched?.code != "ETLS")
    }
}
