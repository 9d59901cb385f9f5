import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Server
import Testing
import WebApp

/// The web app's serving contract (`docs/WEBAPP.md`): pages, security headers, cache validators.
/// Most tests run on a small fixture directory, so they say what the routes do whatever the pages
/// hold; ``BundledWebAppTests`` holds the bundled files to the rules the headers rely on.
@Suite("Web app: pages, assets, headers and caching")
struct WebAppRouteTests {
    /// A fixture web app: an index naming its assets by hash placeholder, a stylesheet, a script.
    static func withFixture(_ body: @escaping @Sendable (WebAppAssets, any TestClientProtocol) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("posthorn-webapp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = [
            "index.html": """
                <!doctype html><html><head><link rel="stylesheet" href="/assets/app.css?v=__CSS_HASH__">
                <script type="module" src="/assets/js/app.js?v=__JS_HASH__"></script></head><body><div id="app"></div></body></html>
                """,
            "assets/app.css": "body { color: black; }\n",
            "assets/js/app.js": "import { h } from \"./dom.js\";\n",
            "assets/js/dom.js": "export function h() {}\n",
            "assets/img/logo.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n",
        ]
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let assets = WebAppAssets(directory: directory)
        try await APIHarness.run { harness in
            let app = Application(router: buildRouter(services: harness.environment.services, webApp: assets), logger: Logger(label: "test.webapp"))
            try await app.test(.router) { client in try await body(assets, client) }
        }
    }

    /// The headers every page and asset answer carries.
    static func expectSecurityHeaders(_ headers: HTTPFields, _ comment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(headers[.contentSecurityPolicy] == WebAppRoutes.contentSecurityPolicy, "\(comment)", sourceLocation: sourceLocation)
        #expect(headers[.xContentTypeOptions] == "nosniff", "\(comment)", sourceLocation: sourceLocation)
        #expect(headers[HTTPField.Name("Referrer-Policy")!] == "same-origin", "\(comment)", sourceLocation: sourceLocation)
        #expect(headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(comment)", sourceLocation: sourceLocation)
    }

    @Test("the policy is the one docs/WEBAPP.md states, word for word")
    func policyText() throws {
        let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/WEBAPP.md")
        let text = try String(contentsOf: document, encoding: .utf8).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("`Content-Security-Policy: \(WebAppRoutes.contentSecurityPolicy)`"))
    }

    @Test("every page address answers index.html with the security headers, revalidated", arguments: [
        "/", "/signin", "/setup", "/invite", "/settings/credentials", "/settings/tokens", "/settings/members", "/settings/suppressions",
        "/settings/api-reference", "/flows",
        "/flows/flow_123", "/flows/flow_123/runs", "/runs", "/runs/run_1",
    ])
    func pages(path: String) async throws {
        try await Self.withFixture { assets, client in
            let index = try #require(assets.files["index.html"])
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.body == index.body)
                #expect(response.headers[.cacheControl] == "no-cache")
                #expect(response.headers[.eTag] == index.etag)
                Self.expectSecurityHeaders(response.headers, path)
            }
        }
    }

    /// Regression: a mistyped page address was an empty 404 without the pages' headers.
    @Test("an unknown page address asked for by a browser is the web app with 404 and the headers; elsewhere the API's 404")
    func unknownPage() async throws {
        try await Self.withFixture { assets, client in
            let index = try #require(assets.files["index.html"])
            try await client.execute(uri: "/settings/nope", method: .get, headers: [.accept: "text/html,application/xhtml+xml"]) { response in
                #expect(response.status == .notFound)
                #expect(response.body == index.body, "the app's router shows its Page not found")
                Self.expectSecurityHeaders(response.headers, "/settings/nope")
            }
            try await client.execute(uri: "/settings/nope", method: .get, headers: [.accept: "application/json"]) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("\"not_found\""))
            }
            try await client.execute(uri: "/api/v1/nope", method: .get, headers: [.accept: "text/html"]) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("\"not_found\""), "the API never answers with a page")
            }
        }
    }

    @Test("index.html names its assets by their content hash")
    func hashedReferences() async throws {
        try await Self.withFixture { assets, client in
            let css = try #require(assets.files["assets/app.css"])
            let js = try #require(assets.files["assets/js/app.js"])
            let html = try await client.execute(uri: "/", method: .get) { String(buffer: $0.body) }
            #expect(html.contains("/assets/app.css?v=\(css.version)\""))
            #expect(html.contains("/assets/js/app.js?v=\(js.version)\""))
            #expect(!html.contains("__CSS_HASH__") && !html.contains("__JS_HASH__"))
            #expect(css.version.count == 16 && css.version.allSatisfy(\.isHexDigit))
        }
    }

    @Test("/settings/oauth is a 302 to /settings/credentials; /settings/oauth/callback is the web app's page (its script completes the sign-in)")
    func oauthRedirect() async throws {
        try await Self.withFixture { _, client in
            try await client.execute(uri: "/settings/oauth", method: .get) { response in
                #expect(response.status == .found)
                #expect(response.headers[.location] == "/settings/credentials")
                Self.expectSecurityHeaders(response.headers, "redirect")
            }
            try await client.execute(uri: "/settings/oauth/callback?code=abc", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.location] == nil)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                // The code never leaves this origin through a referrer.
                #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin")
            }
        }
    }

    @Test("an asset at its current ?v= is immutable for a year; without it, no-cache with a strong ETag")
    func assetCaching() async throws {
        try await Self.withFixture { assets, client in
            let css = try #require(assets.files["assets/app.css"])
            try await client.execute(uri: "/assets/app.css?v=\(css.version)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(response.headers[.contentType] == "text/css; charset=utf-8")
                #expect(String(buffer: response.body) == "body { color: black; }\n")
                Self.expectSecurityHeaders(response.headers, "immutable asset")
            }
            for uri in ["/assets/app.css", "/assets/app.css?v=0123456789abcdef"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.cacheControl] == "no-cache", "\(uri): an old or missing version is revalidated")
                    #expect(response.headers[.eTag] == css.etag)
                    Self.expectSecurityHeaders(response.headers, uri)
                }
            }
            #expect(css.etag.hasPrefix("\"") && css.etag.hasSuffix("\"") && !css.etag.hasPrefix("W/"), "strong")
        }
    }

    @Test("If-None-Match with the current ETag (or *) is 304 without a body; another tag gets the file")
    func conditionalGet() async throws {
        try await Self.withFixture { assets, client in
            let js = try #require(assets.files["assets/js/app.js"])
            let index = try #require(assets.files["index.html"])
            for (uri, tag) in [
                ("/assets/js/app.js", js.etag), ("/assets/js/app.js", "\"other\", \(js.etag)"), ("/assets/js/app.js", "*"), ("/", index.etag),
            ] {
                try await client.execute(uri: uri, method: .get, headers: [.ifNoneMatch: tag]) { response in
                    #expect(response.status == .notModified, "\(uri) \(tag)")
                    #expect(response.body.readableBytes == 0)
                    #expect(response.headers[.eTag] != nil)
                    Self.expectSecurityHeaders(response.headers, "304")
                }
            }
            try await client.execute(uri: "/assets/js/app.js", method: .get, headers: [.ifNoneMatch: "\"stale\""]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(response.body == js.body)
            }
        }
    }

    @Test("an unknown asset, or a path that climbs out of assets, is 404 with the security headers", arguments: [
        "/assets/nope.css", "/assets/js/nope.js", "/assets/", "/assets/../index.html", "/assets/js/../../index.html", "/assets/%2e%2e/index.html",
    ])
    func unknownAsset(uri: String) async throws {
        try await Self.withFixture { _, client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .notFound, "\(uri)")
                #expect(!String(buffer: response.body).contains("<html"), "\(uri) served a page")
            }
            try await client.execute(uri: "/assets/nope.css", method: .get) { response in
                Self.expectSecurityHeaders(response.headers, "404")
            }
        }
    }

    @Test("API answers, errors included, are not cached and not sniffed", arguments: [
        ("/api/v1/setup", HTTPResponse.Status.ok), ("/api/v1/credentials", .unauthorized), ("/api/v1/session", .unauthorized),
        ("/api/v1/no-such-route", .notFound),
    ])
    func apiHeaders(uri: String, status: HTTPResponse.Status) async throws {
        try await Self.withFixture { _, client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == status)
                #expect(String(buffer: response.body).contains("\"error\"") == (status != .ok), "every error has the error shape")
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
            }
        }
    }
}

/// The files in `Sources/WebApp/Public/`, as the server bundles them. These fail while the web app
/// is missing: the headers above promise a CSP the pages must keep.
@Suite("Web app: the bundled pages keep the rules the CSP relies on")
struct BundledWebAppTests {
    static var files: [String: WebAppAssets.Asset] { WebAppAssets.bundled.files }

    static func text(_ path: String) throws -> String {
        String(buffer: try #require(files[path], "\(path) is not bundled").body)
    }

    @Test("index.html, app.css and app.js are bundled, and index.html names the last two by hash")
    func bundled() throws {
        let html = try Self.text("index.html")
        let css = try #require(Self.files["assets/app.css"])
        let js = try #require(Self.files["assets/js/app.js"])
        #expect(html.contains("/assets/app.css?v=\(css.version)"))
        #expect(html.contains("/assets/js/app.js?v=\(js.version)"))
    }

    @Test("index.html has no inline script or style, no style= and no on…= attributes, nothing from elsewhere")
    func noInlineCode() throws {
        let html = try Self.text("index.html")
        let tags = html.matches(of: /<[a-zA-Z][^>]*>/).map { String($0.output) }
        #expect(!tags.isEmpty)
        for tag in tags {
            let lower = tag.lowercased()
            if lower.hasPrefix("<script") {
                #expect(lower.contains(" src="), "inline script: \(tag)")
            }
            #expect(!lower.hasPrefix("<style"), "inline style element: \(tag)")
            #expect(lower.firstMatch(of: /\sstyle\s*=/) == nil, "style attribute: \(tag)")
            #expect(lower.firstMatch(of: /\son[a-z]+\s*=/) == nil, "event handler attribute: \(tag)")
            #expect(lower.firstMatch(of: /(src|href|action)\s*=\s*["']?\s*(https?:)?\/\/|javascript:/) == nil, "not this origin: \(tag)")
        }
    }

    @Test("every asset index.html names is bundled")
    func referencesResolve() throws {
        let html = try Self.text("index.html")
        for match in html.matches(of: /(?:src|href)="\/(assets\/[^"?#]+)/) {
            #expect(Self.files[String(match.output.1)] != nil, "\(match.output.1) is missing")
        }
    }

    @Test("every relative module import in the scripts resolves to a bundled file")
    func importsResolve() throws {
        let scripts = Self.files.keys.filter { $0.hasSuffix(".js") }
        #expect(!scripts.isEmpty)
        for path in scripts {
            let text = try Self.text(path)
            let directory = URL(fileURLWithPath: "/" + path).deletingLastPathComponent()
            for match in text.matches(of: /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/) {
                let target = directory.appendingPathComponent(String(match.output.1)).standardizedFileURL.path.dropFirst()
                #expect(Self.files[String(target)] != nil, "\(path) imports \(match.output.1), which is not bundled")
            }
        }
    }

    @Test("the scripts never write HTML or inline code: no innerHTML, insertAdjacentHTML, eval, style or on… attributes")
    func scriptsKeepTheCSP() throws {
        for path in Self.files.keys where path.hasSuffix(".js") {
            let text = try Self.text(path)
            for pattern in [".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function("] {
                #expect(!text.contains(pattern), "\(path) uses \(pattern)")
            }
            #expect(text.firstMatch(of: /setAttribute\(\s*["'](style|on[a-z]+)["']/) == nil, "\(path) sets an inline style or handler attribute")
        }
    }
}
