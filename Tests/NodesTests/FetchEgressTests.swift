import Egress
import Flows
@testable import Nodes
import Testing

/// What the fetcher refuses before any connection: URLs it will not fetch and hosts the egress
/// guard will not let it reach. No real DNS: every name goes through ``FetchStaticResolver``.
@Suite("GuardedHTTPFetcher refusals")
struct FetchEgressTests {
    // MARK: - URLs

    @Test(
        "only absolute http(s) URLs with a host and no user info",
        arguments: [
            ("file:///etc/passwd", "only http and https URLs can be fetched, not \"file:\""),
            ("ftp://files.example.com/report.pdf", "only http and https URLs can be fetched, not \"ftp:\""),
            ("data:text/plain,hello", "only http and https URLs can be fetched, not \"data:\""),
            ("gopher://example.com/", "only http and https URLs can be fetched, not \"gopher:\""),
            ("//files.example.com/report.pdf", "must be an absolute URL starting with http:// or https://"),
            ("/etc/passwd", "must be an absolute URL starting with http:// or https://"),
            ("http:///report.pdf", "has no host"),
            ("http://alice:hunter2@files.example.com/", "must not carry a user name or password; send credentials in a header instead"),
            ("https://alice@files.example.com/", "must not carry a user name or password; send credentials in a header instead"),
            ("http://@files.example.com/", "must not carry a user name or password; send credentials in a header instead"),
            ("", "a URL is required"),
            ("http://files.example.com:0/", "the port must be between 1 and 65535"),
        ])
    func refusedURLs(url: String, rule: String) async throws {
        let resolver = FetchStaticResolver()
        let fetcher = try FetchFixtures.fetcher(allowlist: "0.0.0.0/0", resolver: resolver)
        let error = await FetchFixtures.failure(fetcher, FetchRequest(url: url, byteLimit: 1000))
        #expect(error?.code == "EURL")
        #expect(error?.disposition == .permanent)
        #expect(error?.message == "attachments[0].url: \(rule)")
        #expect(error?.message.contains("hunter2") == false)
        #expect(resolver.lookups.isEmpty)
    }

    // MARK: - Addresses

    @Test(
        "private, reserved and metadata addresses are refused before any connection",
        arguments: [
            ("http://10.0.0.1/report.pdf", "private-use"),
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://127.0.0.1/", "loopback"),
            ("http://0.0.0.0/", "this-network"),
            ("http://[::1]/", "loopback"),
            ("http://[fd00:ec2::254]/", "unique-local"),
            ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ])
    func refusedAddresses(url: String, range: String) async throws {
        let resolver = FetchStaticResolver()
        let fetcher = try FetchFixtures.fetcher(resolver: resolver)
        let error = await FetchFixtures.failure(fetcher, FetchRequest(url: url, byteLimit: 1000))
        #expect(error?.code == "EPOLICY")
        #expect(error?.disposition == .permanent)
        #expect(error?.message.hasPrefix("attachments[0].url: Outbound connection to") == true)
        #expect(error?.message.contains(range) == true)
        #expect(resolver.lookups.isEmpty)
    }

    @Test("a legacy address spelling is refused, not resolved")
    func nonCanonicalLiteral() async throws {
        let resolver = FetchStaticResolver()
        let fetcher = try FetchFixtures.fetcher(allowlist: "0.0.0.0/0", resolver: resolver)
        let error = await FetchFixtures.failure(fetcher, FetchRequest(url: "http://127.1/", byteLimit: 1000))
        #expect(error?.code == "EPOLICY")
        #expect(error?.message.contains("not a canonical IP address") == true)
        #expect(resolver.lookups.isEmpty)
    }

    @Test("localhost resolving to 127.0.0.1 is refused without an allowlist and no request is made")
    func loopbackNameRefused() async throws {
        try await FetchTestServer.with { server in
            let resolver = FetchStaticResolver(["localhost": ["127.0.0.1"]])
            let fetcher = try FetchFixtures.fetcher(resolver: resolver)
            let error = await FetchFixtures.failure(fetcher, FetchRequest(url: server.url("/file.pdf"), byteLimit: 1000))
            #expect(error?.code == "EPOLICY")
            #expect(error?.message.contains("(resolved to 127.0.0.1)") == true)
            #expect(resolver.lookups == ["localhost"])
            #expect(server.totalRequests == 0)
        }
    }

    @Test("localhost is allowed once 127.0.0.1/32 is allowlisted")
    func loopbackNameAllowlisted() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let resource = try await fetcher.fetch(FetchRequest(url: server.url("/file.pdf"), byteLimit: 1_000_000), field: "url")
            #expect(resource.body == FetchTestServer.pdfBytes)
        }
    }

    @Test("the connection goes to the vetted address while Host keeps the URL's name; one lookup")
    func connectionIsPinned() async throws {
        try await FetchTestServer.with { server in
            // `.test` names never resolve in real DNS (RFC 2606): success proves the pin was used.
            let resolver = FetchStaticResolver(["files.example.test": ["127.0.0.1"]])
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32", resolver: resolver)
            let resource = try await fetcher.fetch(
                FetchRequest(url: server.url("/echo-host", host: "files.example.test"), byteLimit: 1000), field: "url")
            #expect(String(decoding: resource.body, as: UTF8.self) == "files.example.test:\(server.port)")
            #expect(resolver.lookups == ["files.example.test"])
        }
    }

    @Test("one private answer among public ones refuses the whole name")
    func roundRobinSmuggling() async throws {
        try await FetchTestServer.with { server in
            let resolver = FetchStaticResolver(["mixed.example.test": ["93.184.216.34", "127.0.0.1"]])
            let fetcher = try FetchFixtures.fetcher(resolver: resolver)
            let error = await FetchFixtures.failure(
                fetcher, FetchRequest(url: server.url("/file.pdf", host: "mixed.example.test"), byteLimit: 1000))
            #expect(error?.code == "EPOLICY")
            #expect(server.totalRequests == 0)
        }
    }

    @Test(
        "a name that does not resolve is EDNS, transient",
        arguments: [
            ResolutionError(isTransient: true, reason: "Temporary failure in name resolution"),
            ResolutionError(isTransient: false, reason: "Name or service not known"),
        ])
    func dnsFailure(resolution: ResolutionError) async throws {
        let resolver = FetchStaticResolver(failing: ["gone.example.test": resolution])
        let fetcher = try FetchFixtures.fetcher(resolver: resolver)
        let error = await FetchFixtures.failure(fetcher, FetchRequest(url: "https://gone.example.test/a.pdf", byteLimit: 1000))
        #expect(error?.code == "EDNS")
        #expect(error?.disposition == .transient)
        #expect(error?.message == "attachments[0].url: Could not resolve \"gone.example.test\": \(resolution.reason)")
    }

    // MARK: - Request

    @Test(
        "methods and headers that cannot be sent",
        arguments: [
            (FetchRequest(method: "TRACE", url: "http://127.0.0.1/", byteLimit: 1),
             "the method must be one of GET, POST, PUT, PATCH, DELETE or HEAD"),
            (FetchRequest(url: "http://127.0.0.1/", headers: [(name: "Host", value: "internal")], byteLimit: 1),
             "header \"Host\" is set by the HTTP client and cannot be overridden"),
            (FetchRequest(url: "http://127.0.0.1/", headers: [(name: "Transfer-Encoding", value: "chunked")], byteLimit: 1),
             "header \"Transfer-Encoding\" is set by the HTTP client and cannot be overridden"),
            (FetchRequest(url: "http://127.0.0.1/", headers: [(name: "X-A", value: "ok\r\nX-Injected: secret")], byteLimit: 1),
             "the value of header \"X-A\" contains a line break or a control character"),
            (FetchRequest(url: "http://127.0.0.1/", headers: [(name: "Bad Name", value: "v")], byteLimit: 1),
             "header 1 has a name that is not a valid HTTP header name"),
        ])
    func unsendableRequests(request: FetchRequest, rule: String) async throws {
        let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
        let error = await FetchFixtures.failure(fetcher, request, field: "url")
        #expect(error?.code == "EREQUEST")
        #expect(error?.message == "url: \(rule)")
    }
}
