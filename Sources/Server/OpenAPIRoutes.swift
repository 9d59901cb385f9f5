public import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The API's OpenAPI 3.1 document: `Sources/Server/OpenAPI/openapi.json`, written by hand (the
/// one source of truth: generated routes would lose PATCH's difference between an absent field and
/// `null`), kept honest by the tests, which fail when a registered route is missing from it or a
/// documented one is not registered, and check every API test's response against it.
public enum OpenAPIDocument {
    /// The document's bytes, from the package's resources.
    public static let data: Data = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = try? Data(contentsOf: url) else {
            preconditionFailure("the OpenAPI document is missing from the Server target's resources")
        }
        return data
    }()

    /// `GET /api/v1/openapi.json`, without a token: a client needs the contract before it has one.
    static func register(on router: Router<PosthornRequestContext>) {
        let body = ByteBuffer(bytes: data)
        let etag = "\"\(data.count)-\(data.hashValue & 0xFFFF_FFFF)\""
        router.get("api/v1/openapi.json") { request, _ -> Response in
            if request.headers[.ifNoneMatch] == etag {
                return Response(status: .notModified, headers: [.eTag: etag])
            }
            return Response(
                status: .ok,
                headers: [.contentType: "application/json; charset=utf-8", .eTag: etag, .cacheControl: "no-cache"],
                body: ResponseBody(byteBuffer: body))
        }
    }
}
