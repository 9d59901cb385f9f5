import Egress
import Flows
import MIME
@testable import Nodes
import Testing

/// The fetcher's pure parts: URL reading, file names, media types, headers and the status policy.
@Suite("Fetch parsing")
struct FetchParsingTests {
    // MARK: - Content-Disposition

    @Test(
        "the file name from Content-Disposition",
        arguments: [
            (#"attachment; filename="report.pdf""#, "report.pdf"),
            ("attachment; filename=report.pdf", "report.pdf"),
            (#"attachment; FILENAME="upper.pdf""#, "upper.pdf"),
            (#"attachment; filename="fallback.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"#, "résumé.pdf"),
            (#"attachment; filename*=utf-8''%E2%82%AC%20rates.pdf; filename="EUR rates.pdf""#, "€ rates.pdf"),
            ("attachment; filename*=iso-8859-1'en'%E9t%E9.txt", "été.txt"),
            (#"attachment; filename*=UTF-8''%FF%FE.pdf; filename="plain.pdf""#, "plain.pdf"),
            (#"attachment; filename*=koi8-r''%C1.txt; filename="plain.txt""#, "plain.txt"),
            (#"attachment; filename="quoted \"name\".pdf""#, #"quoted "name".pdf"#),
            (#"attachment; filename="../../etc/cron.d/job""#, "job"),
            (#"attachment; filename="C:\\Windows\\evil.exe""#, "evil.exe"),
            ("attachment; filename*=UTF-8''..%2F..%2Fsecret.txt", "secret.txt"),
            (#"attachment; filename="a;b.txt"; size=3"#, "a;b.txt"),
        ])
    func dispositionFilename(header: String, expected: String) {
        #expect(ContentDisposition.filename(fromHeader: header) == expected)
    }

    @Test(
        "no usable file name",
        arguments: ["inline", "attachment", #"attachment; filename="..""#, #"attachment; filename="""#, "attachment; filename=/"])
    func dispositionWithoutFilename(header: String) {
        #expect(ContentDisposition.filename(fromHeader: header) == nil)
    }

    @Test("control and bidi-override characters are dropped, long names keep their extension")
    func sanitizer() {
        #expect(FilenameSanitizer.sanitize("bad\u{0}\r\nname.pdf") == "badname.pdf")
        #expect(FilenameSanitizer.sanitize("invoice\u{202E}fdp.exe") == "invoicefdp.exe")
        let long = String(repeating: "a", count: 300) + ".pdf"
        let sanitized = FilenameSanitizer.sanitize(long)
        #expect(sanitized?.utf8.count == 255)
        #expect(sanitized?.hasSuffix(".pdf") == true)
    }

    // MARK: - URLs

    @Test(
        "the last path segment, percent-decoded",
        arguments: [
            ("http://example.com/files/My%20Report.pdf?x=1#top", "My Report.pdf"),
            ("https://example.com/a%2F..%2Fb.txt", "b.txt"),
            ("http://example.com/plain", "plain"),
        ])
    func pathFilename(url: String, expected: String) throws {
        #expect(try FetchTarget(validating: url, field: "url").lastPathSegment == expected)
    }

    @Test("no segment: an empty path or a trailing slash", arguments: ["http://example.com", "http://example.com/", "http://example.com/dir/"])
    func pathWithoutFilename(url: String) throws {
        #expect(try FetchTarget(validating: url, field: "url").lastPathSegment == nil)
    }

    @Test("host, port and authority as the client sees them")
    func targets() throws {
        let named = try FetchTarget(validating: "HTTPS://Files.Example.com/x", field: "url")
        #expect(named.scheme == .https)
        #expect(named.host == "Files.Example.com" || named.host == "files.example.com")
        #expect(named.port == 443)
        let v6 = try FetchTarget(validating: "http://[2001:db8::1]:8080/x", field: "url")
        #expect(v6.host == "2001:db8::1")
        #expect(v6.hostIsIPv6Literal)
        #expect(v6.authority == "[2001:db8::1]:8080")
    }

    @Test("the pin maps a name to the vetted address; a literal needs none")
    func dnsOverride() throws {
        let named = try FetchTarget(validating: "https://files.example.test/a.pdf", field: "url")
        #expect(GuardedHTTPFetcher.dnsOverride(for: named, pinnedTo: IPAddress("192.0.2.7")!) == ["files.example.test": "192.0.2.7"])
        let v4 = try FetchTarget(validating: "http://192.0.2.7/a.pdf", field: "url")
        #expect(GuardedHTTPFetcher.dnsOverride(for: v4, pinnedTo: IPAddress("192.0.2.7")!).isEmpty)
        let v6 = try FetchTarget(validating: "http://[2001:db8::7]/a.pdf", field: "url")
        #expect(GuardedHTTPFetcher.dnsOverride(for: v6, pinnedTo: IPAddress("2001:db8::7")!).isEmpty)
    }

    // MARK: - Response metadata

    @Test(
        "the media type without parameters",
        arguments: [
            ("Application/PDF; name=\"x.pdf\"", "application/pdf" as String?),
            ("text/plain ; charset=utf-8", "text/plain"),
            ("application/problem+json", "application/problem+json"),
            ("garbage", nil),
            ("", nil),
            ("text/plain\u{0}x", nil),
        ])
    func mediaTypes(value: String, expected: String?) {
        #expect(FetchedResource.mediaType(value) == expected)
    }

    @Test("header names lower-cased, repeats joined in order")
    func headerNormalisation() {
        let headers = FetchedResource.lowercasedHeaders([
            (name: "Set-Cookie", value: "a=1"), (name: "X-Up", value: "Kept"), (name: "set-cookie", value: "b=2"),
        ])
        #expect(headers == ["set-cookie": "a=1, b=2", "x-up": "Kept"])
    }

    // MARK: - Status policy

    @Test("2xx passes; the others carry the status in details")
    func statusPolicy() {
        for status in [200, 201, 204, 206, 299] {
            #expect(ResponseStatusPolicy.refusal(status: status, method: "GET", field: "url", authority: "h:80") == nil)
        }
        let redirect = ResponseStatusPolicy.refusal(status: 302, method: "GET", field: "url", authority: "h:80")
        #expect(redirect?.message == "url: h:80 answered 302 (a redirect); redirects are never followed, so use the final URL")
        #expect(ResponseStatusPolicy.refusal(status: 304, method: "GET", field: "url", authority: "h:80")?.code == "EREDIRECT")
        #expect(ResponseStatusPolicy.refusal(status: 101, method: "GET", field: "url", authority: "h:80")?.disposition == .permanent)
        #expect(ResponseStatusPolicy.refusal(status: 502, method: "GET", field: "url", authority: "h:80")?.details == ["status": 502])
    }

    @Test(
        "a 5xx is transient for GET and HEAD, ambiguous for a method that may have changed something",
        arguments: [
            ("GET", 500, NodeError.Disposition.transient), ("HEAD", 503, .transient), ("get", 502, .transient),
            ("POST", 500, .ambiguous), ("PUT", 502, .ambiguous), ("PATCH", 503, .ambiguous), ("DELETE", 504, .ambiguous),
            ("post", 599, .ambiguous),
            ("POST", 408, .transient), ("PUT", 429, .transient), ("DELETE", 404, .permanent), ("PATCH", 302, .permanent),
        ])
    func statusPolicyByMethod(method: String, status: Int, disposition: NodeError.Disposition) {
        let refusal = ResponseStatusPolicy.refusal(status: status, method: method, field: "url", authority: "h:80")
        #expect(refusal?.disposition == disposition)
        #expect(refusal?.details == ["status": .integer(Int64(status))])
    }

    @Test("the ambiguous 5xx says why it is not retried, naming the method and never the URL")
    func ambiguousStatusMessage() {
        let refusal = ResponseStatusPolicy.refusal(status: 500, method: "POST", field: "url", authority: "api.example.com:443")
        #expect(refusal?.message
            == "url: api.example.com:443 answered 500 to POST; the server may have applied the request before failing, so it is not retried")
    }

    @Test(
        "a failure after sending is transient only for GET and HEAD",
        arguments: [
            ("GET", NodeError.Disposition.transient), ("HEAD", .transient), ("POST", .ambiguous), ("PUT", .ambiguous),
            ("PATCH", .ambiguous), ("DELETE", .ambiguous),
        ])
    func afterSending(method: String, disposition: NodeError.Disposition) throws {
        let request = FetchRequest(method: method, url: "https://api.example.com/x", byteLimit: 10)
        #expect(FetchFailure.afterSending(request) == disposition)
        let target = try FetchTarget(validating: request.url, field: "url")
        let timedOut = FetchFailure.timedOut(field: "url", target: target, timeout: .seconds(1), request: request)
        #expect(timedOut.disposition == disposition)
        let reset = FetchFailure.transport(ResetError(), field: "url", target: target, request: request)
        #expect(reset.code == "ECONNECTION")
        #expect(reset.disposition == disposition)
    }

    private struct ResetError: Error {}

    @Test("durations in messages")
    func durations() {
        #expect(FetchFailure.describe(.seconds(30)) == "30 s")
        #expect(FetchFailure.describe(.milliseconds(300)) == "0.3 s")
        #expect(FetchFailure.describe(.milliseconds(2500)) == "2.5 s")
    }
}
