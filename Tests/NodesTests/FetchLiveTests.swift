import Flows
@testable import Nodes
import Testing
import TestSupport

/// The guarded fetcher against a real HTTP server on loopback (allowlisted as `127.0.0.1/32`).
@Suite("GuardedHTTPFetcher over loopback")
struct FetchLiveTests {
    static let limit = 1_000_000

    // MARK: - 2xx

    @Test("bytes, content type and the filename* from Content-Disposition")
    func fetchesAFile() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let resource = try await fetcher.fetch(FetchRequest(url: server.url("/file.pdf"), byteLimit: Self.limit), field: "url")
            #expect(resource.status == 200)
            #expect(resource.body == FetchTestServer.pdfBytes)
            #expect(resource.contentType == "application/pdf")
            #expect(resource.filename == "résumé.pdf")
            #expect(resource.headers["content-disposition"]?.hasPrefix("attachment;") == true)
            #expect(server.requests(to: "/file.pdf") == 1)
        }
    }

    @Test("without Content-Disposition the filename is the last path segment; parameters leave the type")
    func filenameFromThePath() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let resource = try await fetcher.fetch(FetchRequest(url: server.url("/plain?download=1"), byteLimit: Self.limit), field: "url")
            #expect(resource.filename == "plain")
            #expect(resource.contentType == "text/plain")
            #expect(resource.headers["content-type"] == "text/plain; charset=utf-8")
            #expect(String(decoding: resource.body, as: UTF8.self) == "hello, world")
        }
    }

    @Test("a 204 is returned as it is, empty, for the caller to judge")
    func noContentIsReturned() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let resource = try await fetcher.fetch(FetchRequest(url: server.url("/empty"), byteLimit: Self.limit), field: "url")
            #expect(resource.status == 204)
            #expect(resource.body.isEmpty)
            #expect(server.requests(to: "/empty") == 1)
        }
    }

    @Test("header names are lower-cased and repeated headers joined")
    func headersAreNormalised() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let resource = try await fetcher.fetch(FetchRequest(url: server.url("/headers"), byteLimit: Self.limit), field: "url")
            #expect(resource.headers["x-multi"] == "one, two")
            #expect(resource.headers["x-mixed-case"] == "Value")
            #expect(resource.headers.keys.allSatisfy { $0 == $0.lowercased() })
        }
    }

    @Test("the method, headers and body reach the server")
    func sendsMethodHeadersAndBody() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let request = FetchRequest(
                method: "PATCH", url: server.url("/echo"),
                headers: [(name: "Content-Type", value: "application/json"), (name: "X-Token", value: "t0k3n")],
                body: Array(#"{"a":1}"#.utf8), byteLimit: Self.limit)
            let resource = try await fetcher.fetch(request, field: "url")
            let echo = try JSONValue(parsing: String(decoding: resource.body, as: UTF8.self))
            #expect(echo == ["method": "PATCH", "contentType": "application/json", "token": "t0k3n", "body": #"{"a":1}"#])
        }
    }

    @Test("HEAD ignores a Content-Length above the limit: it describes a body that is not sent")
    func headIgnoresDeclaredLength() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let resource = try await fetcher.fetch(
                FetchRequest(method: "HEAD", url: server.url("/declared-big"), byteLimit: 10), field: "url")
            #expect(resource.status == 200)
            #expect(resource.body.isEmpty)
        }
    }

    // MARK: - Redirects and statuses

    @Test("a redirect is an error naming the status and is never followed")
    func redirectIsRefused() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let error = await FetchFixtures.failure(fetcher, FetchRequest(url: server.url("/redirect"), byteLimit: Self.limit))
            #expect(error?.code == "EREDIRECT")
            #expect(error?.disposition == .permanent)
            #expect(error?.message.hasPrefix("attachments[0].url: ") == true)
            #expect(error?.message.contains("302") == true)
            #expect(server.requests(to: "/redirect") == 1)
            #expect(server.requests(to: "/file.pdf") == 0)
        }
    }

    @Test("a 404 is a permanent EHTTP after one request")
    func notFound() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let error = await FetchFixtures.failure(fetcher, FetchRequest(url: server.url("/notfound"), byteLimit: Self.limit))
            #expect(error?.code == "EHTTP")
            #expect(error?.disposition == .permanent)
            #expect(error?.message.contains("404") == true)
            #expect(error?.details == ["status": 404])
            #expect(server.totalRequests == 1)
        }
    }

    @Test(
        "statuses outside 2xx to a GET: 3xx redirect, 408/429/5xx transient, other 4xx permanent",
        arguments: [
            (301, "EREDIRECT", NodeError.Disposition.permanent), (303, "EREDIRECT", .permanent),
            (307, "EREDIRECT", .permanent), (308, "EREDIRECT", .permanent), (400, "EHTTP", .permanent),
            (401, "EHTTP", .permanent), (403, "EHTTP", .permanent), (408, "EHTTP", .transient),
            (429, "EHTTP", .transient), (500, "EHTTP", .transient), (503, "EHTTP", .transient),
        ])
    func statusTable(status: Int, code: String, disposition: NodeError.Disposition) async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let error = await FetchFixtures.failure(fetcher, FetchRequest(url: server.url("/status/\(status)"), byteLimit: Self.limit))
            #expect(error?.code == code)
            #expect(error?.disposition == disposition)
            #expect(error?.message.contains("\(status)") == true)
            #expect(server.totalRequests == 1)
        }
    }

    // MARK: - Size

    @Test("a chunked body past the limit stops at limit+1, long before the stream could end")
    func streamingCap() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let started = ContinuousClock.now
            // 4 GiB cannot be read within the 10 s timeout, so only stopping at the limit gives ETOOLARGE.
            let error = await FetchFixtures.failure(
                fetcher, FetchRequest(url: server.url("/big"), byteLimit: 100_000, timeout: .seconds(10)))
            #expect(error?.code == "ETOOLARGE")
            #expect(error?.disposition == .permanent)
            #expect(error?.message == "attachments[0].url: the response body is larger than the limit of 100000 bytes; reading stopped there")
            #expect(error?.details == ["limit": 100_000])
            // Far below the 10 s timeout (a loaded machine included): the limit, not the clock, ended it.
            #expect(ContinuousClock.now - started < .seconds(9))
            #expect(server.requests(to: "/big") == 1)
        }
    }

    @Test("a Content-Length over the limit fails before the body is read")
    func declaredLengthCap() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let error = await FetchFixtures.failure(
                fetcher, FetchRequest(url: server.url("/declared-big"), byteLimit: FetchTestServer.declaredBigSize - 1))
            #expect(error?.code == "ETOOLARGE")
            #expect(error?.message.contains("Content-Length") == true)
            #expect(error?.message.contains("\(FetchTestServer.declaredBigSize) bytes") == true)
            #expect(server.requests(to: "/declared-big") == 1)
        }
    }

    @Test("a body of exactly the limit is accepted")
    func exactlyTheLimit() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let resource = try await fetcher.fetch(
                FetchRequest(url: server.url("/declared-big"), byteLimit: FetchTestServer.declaredBigSize), field: "url")
            #expect(resource.body.count == FetchTestServer.declaredBigSize)
        }
    }

    // MARK: - Time

    @Test("no head within the timeout is ETIMEDOUT, transient")
    func slowHead() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let started = ContinuousClock.now
            let error = await FetchFixtures.failure(
                fetcher, FetchRequest(url: server.url("/slow"), byteLimit: Self.limit, timeout: .milliseconds(300)))
            #expect(error?.code == "ETIMEDOUT")
            #expect(error?.disposition == .transient)
            #expect(error?.message.contains("0.3 s") == true)
            // The server would answer after 30 s; the 0.3 s deadline ended it (room for a loaded machine).
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test("a body that drips past the timeout is ETIMEDOUT too: the deadline covers the whole exchange")
    func slowBody() async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let started = ContinuousClock.now
            let error = await FetchFixtures.failure(
                fetcher, FetchRequest(url: server.url("/drip"), byteLimit: Self.limit, timeout: .milliseconds(500)))
            #expect(error?.code == "ETIMEDOUT")
            // The body would take 30 s to drip; the 0.5 s deadline covers it (room for a loaded machine).
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test("a POST, PUT or DELETE that times out is ambiguous: it may have had its effect", arguments: ["POST", "PUT", "DELETE"])
    func writeTimeoutIsAmbiguous(method: String) async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let error = await FetchFixtures.failure(
                fetcher,
                // 1.5 s: long enough that even a loaded machine connects (a connect timeout is
                // transient, nothing was sent), short of /slow's 3 s answer.
                FetchRequest(method: method, url: server.url("/slow"), body: [1], byteLimit: Self.limit, timeout: .milliseconds(1500)))
            #expect(error?.code == "ETIMEDOUT")
            #expect(error?.disposition == .ambiguous)
            // Whether the server's handler had started when the client gave up depends on timing;
            // it was never asked twice.
            #expect(server.requests(to: "/slow") <= 1)
        }
    }

    @Test(
        "a 5xx to a write is ambiguous, never retried; 4xx keeps its usual disposition",
        arguments: [
            ("POST", 500, NodeError.Disposition.ambiguous), ("PUT", 502, .ambiguous), ("PATCH", 503, .ambiguous),
            ("DELETE", 500, .ambiguous), ("POST", 429, .transient), ("POST", 400, .permanent),
        ])
    func writeStatuses(method: String, status: Int, disposition: NodeError.Disposition) async throws {
        try await FetchTestServer.with { server in
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
            let error = await FetchFixtures.failure(
                fetcher, FetchRequest(method: method, url: server.url("/status/\(status)"), body: [1], byteLimit: Self.limit))
            #expect(error?.code == "EHTTP")
            #expect(error?.disposition == disposition)
            #expect(server.totalRequests == 1)
        }
    }

    @Test("nothing listening is ECONNECTION, transient")
    func connectionRefused() async throws {
        let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32")
        let error = await FetchFixtures.failure(
            fetcher, FetchRequest(url: "http://127.0.0.1:1/file.pdf", byteLimit: Self.limit, timeout: .seconds(5)))
        #expect(error?.code == "ECONNECTION")
        #expect(error?.disposition == .transient)
        #expect(error?.message == "attachments[0].url: could not connect to 127.0.0.1:1")
    }

    // MARK: - Logging

    @Test("one debug line with method, host, status and bytes; no query string, no header value")
    func logging() async throws {
        try await FetchTestServer.with { server in
            let logs = CapturedLogs()
            let fetcher = try FetchFixtures.fetcher(allowlist: "127.0.0.1/32", logs: logs)
            _ = try await fetcher.fetch(
                FetchRequest(
                    url: server.url("/json?token=QUERY-SECRET"), headers: [(name: "X-Token", value: "HEADER-SECRET")],
                    byteLimit: Self.limit),
                field: "url")
            _ = await FetchFixtures.failure(
                fetcher, FetchRequest(url: server.url("/notfound?token=QUERY-SECRET"), byteLimit: Self.limit))
            let text = logs.text
            #expect(text.contains("debug fetched"))
            #expect(text.contains("fetch.method=GET"))
            #expect(text.contains("fetch.host=localhost:\(server.port)"))
            #expect(text.contains("fetch.status=200"))
            #expect(text.contains("fetch.bytes=41"))
            #expect(text.contains("fetch.error.code=EHTTP"))
            #expect(text.contains("fetch.status=404"))
            #expect(!text.contains("SECRET"))
            #expect(!text.contains("/json"))
        }
    }
}
