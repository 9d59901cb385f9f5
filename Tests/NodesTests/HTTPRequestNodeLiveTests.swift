import Flows
@testable import Nodes
import Testing

/// `http.request` through the real guarded fetcher and a loopback server.
@Suite("http.request over loopback")
struct HTTPRequestNodeLiveTests {
    @Test("GET JSON: the parsed body and the response facts")
    func getJSON() async throws {
        try await FetchTestServer.with { server in
            let node = HTTPRequestNode(fetcher: try FetchFixtures.fetcher(allowlist: "127.0.0.1/32"))
            let output = try await HTTPRequestNodeTests.members(node, ["url": .string(server.url("/json"))])
            #expect(output["status"] == 200)
            #expect(output["contentType"] == "application/json")
            #expect(output["size"] == 41)
            #expect(output["body"] == ["ok": true, "items": [1, 2, 3], "name": "Zoë"])
        }
    }

    @Test("GET a file: bytes for a later step, with its file name")
    func getFile() async throws {
        try await FetchTestServer.with { server in
            let node = HTTPRequestNode(fetcher: try FetchFixtures.fetcher(allowlist: "127.0.0.1/32"))
            let output = try await HTTPRequestNodeTests.members(node, ["url": .string(server.url("/file.pdf"))])
            #expect(output["body"] == .bytes(FetchTestServer.pdfBytes))
            #expect(output["filename"] == "résumé.pdf")
        }
    }

    @Test("POST an object: the server receives JSON")
    func postJSON() async throws {
        try await FetchTestServer.with { server in
            let node = HTTPRequestNode(fetcher: try FetchFixtures.fetcher(allowlist: "127.0.0.1/32"))
            let output = try await HTTPRequestNodeTests.members(
                node,
                [
                    "method": "POST", "url": .string(server.url("/echo")), "body": ["name": "Ann"],
                    "headers": [["name": "X-Token", "value": "abc"]],
                ])
            #expect(output["body"] == ["method": "POST", "contentType": "application/json", "token": "abc", "body": #"{"name":"Ann"}"#])
        }
    }

    @Test("the response cap: maxBytes over a chunked body is ETOOLARGE")
    func cap() async throws {
        try await FetchTestServer.with { server in
            let node = HTTPRequestNode(fetcher: try FetchFixtures.fetcher(allowlist: "127.0.0.1/32"))
            do throws(NodeError) {
                _ = try await HTTPRequestNodeTests.run(node, ["url": .string(server.url("/big")), "maxBytes": 1000])
                Issue.record("expected ETOOLARGE")
            } catch {
                #expect(error.code == "ETOOLARGE")
                #expect(error.message.hasPrefix("url: "))
            }
            #expect(server.requests(to: "/big") == 1)
        }
    }
}
