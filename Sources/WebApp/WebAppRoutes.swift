import Secrets
import Crypto
public import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore

/// The web app's files, read once from the target's resources (`Public/`): `index.html` and
/// everything under `assets/`, each with a strong ETag (a SHA-256 of its bytes).
///
/// `index.html` names `assets/app.css` and `assets/js/app.js` as `…?v=__CSS_HASH__` and
/// `…?v=__JS_HASH__`; those placeholders become the files' hashes, so a new build is fetched at
/// once while an unchanged one is cached for a year.
public struct WebAppAssets: Sendable {
    /// One file as served.
    public struct Asset: Sendable {
        public var body: ByteBuffer
        public var contentType: String
        public var etag: String
        /// The first 16 hex digits of the SHA-256: the `?v=` of an immutable URL.
        public var version: String
    }

    /// By path below `Public/` (`index.html`, `assets/app.css`, `assets/js/app.js`).
    public let files: [String: Asset]

    /// The files of the WebApp target's resources.
    public static let bundled: WebAppAssets = {
        guard let root = Bundle.module.url(forResource: "Public", withExtension: nil) else {
            preconditionFailure("the web app's files are missing from the WebApp target's resources")
        }
        return WebAppAssets(directory: root)
    }()

    /// Reads every file below `directory`.
    public init(directory: URL) {
        var files: [String: Asset] = [:]
        let root = directory.resolvingSymlinksInPath().standardizedFileURL.path
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = walker?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                let data = try? Data(contentsOf: url)
            else { continue }
            let path = String(url.resolvingSymlinksInPath().standardizedFileURL.path.dropFirst(root.count + 1))
            files[path] = Self.asset(data, path: path)
        }
        if let index = files["index.html"] {
            var html = String(buffer: index.body)
            html = html.replacingOccurrences(of: "__CSS_HASH__", with: files["assets/app.css"]?.version ?? "0")
            html = html.replacingOccurrences(of: "__JS_HASH__", with: files["assets/js/app.js"]?.version ?? "0")
            files["index.html"] = Self.asset(Data(html.utf8), path: "index.html")
        }
        self.files = files
    }

    private static func asset(_ data: Data, path: String) -> Asset {
        let digest = SHA256.hash(data: data).hexString
        return Asset(
            body: ByteBuffer(bytes: data), contentType: contentType(of: path), etag: "\"\(digest.prefix(32))\"",
            version: String(digest.prefix(16)))
    }

    private static func contentType(of path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "html": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        case "json", "webmanifest": "application/json; charset=utf-8"
        case "woff2": "font/woff2"
        case "txt": "text/plain; charset=utf-8"
        default: "application/octet-stream"
        }
    }
}

/// Serves the web app on the API's port: its pages (every one is `index.html`, whose script shows
/// the page for the address), `/assets/…`, and the redirect from the spec's `/settings/oauth`.
///
/// Every answer carries a strict Content-Security-Policy (only this origin's scripts, styles and
/// images; no inline code; no framing) with `nosniff`, `same-origin` referrers and `DENY` framing.
public struct WebAppRoutes: Sendable {
    /// The addresses the client-side router knows; `**` matches anything below.
    public static let pages = [
        "/", "signin", "setup", "invite", "settings/credentials", "settings/tokens", "settings/members", "settings/suppressions", "settings/api-reference",
        "settings/oauth/callback", "settings/sign-in-providers",
        "flows", "flows/**", "runs", "runs/**", "domains",
    ]

    /// The policy every page and asset is served with.
    public static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    let assets: WebAppAssets

    /// Routes for `assets` (the bundled files by default).
    public init(assets: WebAppAssets = .bundled) {
        self.assets = assets
    }

    /// Adds the routes to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        guard let index = assets.files["index.html"] else { preconditionFailure("the web app has no index.html") }
        for page in Self.pages {
            router.get(RouterPath(page)) { request, _ in Self.answer(index, to: request, immutable: false) }
        }
        router.get("settings/oauth") { _, _ in
            var response = Response(status: .found, headers: [.location: "/settings/credentials"])
            Self.secure(&response.headers)
            return response
        }
        router.get("assets/**") { request, _ in
            let path = String(request.uri.path.dropFirst())
            guard let asset = assets.files[path] else {
                var response = Response(
                    status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: "Not found\n")))
                Self.secure(&response.headers)
                return response
            }
            let version = request.uri.queryParameters["v"].map(String.init)
            return Self.answer(asset, to: request, immutable: version == asset.version)
        }
    }

    /// A 404 that is the web app (its router shows "Page not found" for an address it does not
    /// know), with the pages' headers; `nil` when the request does not ask for HTML.
    public func notFoundPage(for request: Request) -> Response? {
        guard let index = assets.files["index.html"], request.headers[.accept]?.contains("text/html") ?? false else { return nil }
        var headers: HTTPFields = [.contentType: index.contentType, .cacheControl: "no-cache"]
        Self.secure(&headers)
        return Response(status: .notFound, headers: headers, body: ResponseBody(byteBuffer: index.body))
    }

    /// The file, or 304 when the browser holds this version.
    private static func answer(_ asset: WebAppAssets.Asset, to request: Request, immutable: Bool) -> Response {
        var headers: HTTPFields = [
            .eTag: asset.etag,
            .cacheControl: immutable ? "public, max-age=31536000, immutable" : "no-cache",
        ]
        secure(&headers)
        if let tags = request.headers[.ifNoneMatch], tags.split(separator: ",").contains(where: {
            $0.trimmingCharacters(in: .whitespaces) == asset.etag || $0.trimmingCharacters(in: .whitespaces) == "*"
        }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: asset.body))
    }

    private static func secure(_ headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        headers[.referrerPolicy] = "same-origin"
        headers[.xFrameOptions] = "DENY"
    }
}

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
}
