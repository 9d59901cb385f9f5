import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Secrets
import Server
import Storage
import Testing
import Workspaces

/// What a browser on Posthorn's own pages sends. `app.test(.router)` gives every request the
/// authority `localhost`, so without a public URL the server's own origin is `http://localhost`.
enum Browser {
    static let origin = "http://localhost"
    static let ownerEmail = "owner@example.com"
    static let ownerPassword = "owner-password-0123"
    static let memberPassword = "member-password-0123"
    static let workspaceHeader = HTTPField.Name("X-Workspace-Id")!

    /// An API timestamp (`2026-01-02T03:04:05.678Z`) as a date.
    static func timestamp(_ value: Any?) -> Date? {
        (value as? String).flatMap { try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse($0) }
    }

    /// A JSON object as request text.
    static func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}

extension TestClientProtocol {
    /// A browser's request: its session cookie, the `Origin` it names (Posthorn's own unless told),
    /// and the workspace it works in. Checked against the OpenAPI document like ``call(_:_:token:json:)``.
    @discardableResult
    func browse(
        _ method: HTTPRequest.Method, _ uri: String, session: String?, origin: String? = Browser.origin, workspace: String? = nil,
        json: String? = nil
    ) async throws -> APIResponse {
        var headers: HTTPFields = [:]
        if let session { headers[.cookie] = "posthorn_session=\(session)" }
        if let origin { headers[.origin] = origin }
        if let workspace { headers[Browser.workspaceHeader] = workspace }
        if json != nil { headers[.contentType] = "application/json" }
        let response = try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            APIResponse(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
        OpenAPIContract.check(method: method.rawValue, uri: uri, requestBody: json, status: response.status.code, responseBody: response.text)
        return response
    }
}

/// One `Set-Cookie` header: its value and attributes (names lower-cased, flags with an empty value).
struct SetCookie: Equatable {
    var value: String
    var attributes: [String: String]

    init?(header: String, name: String) {
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first, first.hasPrefix(name + "=") else { return nil }
        value = String(first.dropFirst(name.count + 1))
        var attributes: [String: String] = [:]
        for part in parts.dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            attributes[pair[0].lowercased()] = pair.count > 1 ? String(pair[1]) : ""
        }
        self.attributes = attributes
    }
}

extension APIResponse {
    /// The `posthorn_session` cookie this answer sets, if it sets one.
    var sessionCookie: SetCookie? {
        headers[values: .setCookie].lazy.compactMap { SetCookie(header: $0, name: "posthorn_session") }.first
    }

    /// `{"workspaces": [{"id", "name", "role"}]}` of a `Session` answer, as `name: role`.
    var workspaceRoles: [String: String] {
        Dictionary(
            ((object["workspaces"] as? [[String: Any]]) ?? []).map { ($0["name"] as? String ?? "?", $0["role"] as? String ?? "?") },
            uniquingKeysWith: { first, _ in first })
    }

    var user: [String: Any] { object["user"] as? [String: Any] ?? [:] }

    /// The body as a comparable object (key order in the text is not stable).
    var json: NSDictionary { object as NSDictionary }
}

extension APIHarness {
    /// The workspace every environment starts with.
    func defaultWorkspace() async throws -> Workspace {
        try #require(try await environment.storage.store.workspace(named: "default"))
    }

    /// Sets up the instance owner through `POST /api/v1/setup`; returns the session the cookie carries.
    func setUpOwner(
        _ client: any TestClientProtocol, email: String = Browser.ownerEmail, password: String = Browser.ownerPassword,
        origin: String? = Browser.origin
    ) async throws -> String {
        let token = try #require(try await environment.services.users.prepareSetup())
        let response = try await client.browse(
            .post, "/api/v1/setup", session: nil, origin: origin,
            json: Browser.json(["token": token.revealedValue, "email": email, "name": "Owner", "password": password]))
        try #require(response.status == .created, "\(response.text)")
        return try #require(response.sessionCookie?.value)
    }

    /// An account (not the first) in `workspaceID` with `role`, signed in through the service:
    /// its id and session.
    func account(_ email: String, role: WorkspaceRole = .member, in workspaceID: String?) async throws -> (id: String, session: String) {
        let users = environment.services.users
        let user = try await users.createAccount(
            email: email, name: String(email.prefix { $0 != "@" }), password: Secret(Browser.memberPassword), workspaceID: workspaceID,
            role: role)
        let (_, session) = try await users.signIn(email: email, password: Secret(Browser.memberPassword), address: "fixture")
        return (user.id, session.revealedValue)
    }

    /// A new workspace: its id and API token.
    func workspaceWithID(_ name: String) async throws -> (id: String, token: String) {
        let (workspace, token) = try await environment.services.workspaces.create(name: name)
        try await environment.services.users.workspaceCreated(workspace, by: nil)
        return (workspace.id, token.revealedValue)
    }
}
