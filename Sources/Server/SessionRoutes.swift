import Foundation
import HTTPTypes
import Hummingbird
import Secrets
import Workspaces

/// The calls a browser makes before it is signed in (or to sign out): the one-time setup of the
/// first account, `session` (sign in, who am I, sign out), and looking up and accepting an
/// invitation. Registered outside ``AuthMiddleware``; each authenticates what it needs itself.
///
/// A sign-in, setup or accept that names an `Origin` must name Posthorn's own (a login CSRF from
/// another site is refused); one without (curl) is allowed, as it cannot carry a victim's cookie.
struct SessionRoutes {
    let services: PosthornServices

    private var users: UserService { services.users }
    private var browser: BrowserPolicy { services.browser }

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.get("setup") { _, _ in
            SetupStatusResponse(needed: try await users.setupNeeded())
        }
        group.post("setup") { request, context in
            try browser.checkOrigin(request, required: false)
            let body = try await JSONBody.decode(SetupBody.self, from: request, context: context)
            let (user, session): (User, Secret)
            do {
                (user, session) = try await users.setup(
                    token: Secret(body.token), email: body.email, name: body.name, password: Secret(body.password))
            } catch let error as WorkspaceError where error.kind == .forbidden {
                throw APIError(.forbidden, code: "invalid_setup_token", error.message)
            }
            return try await signedIn(user, session: session, status: .created, request: request, context: context)
        }
        group.post("session") { request, context in
            try browser.checkOrigin(request, required: false)
            let body = try await JSONBody.decode(SignInBody.self, from: request, context: context)
            let (user, session) = try await users.signIn(
                email: body.email, password: Secret(body.password), address: services.browser.clientAddress(request, context: context))
            return try await signedIn(user, session: session, status: .ok, request: request, context: context)
        }
        group.get("session") { request, context in
            var context = context
            let user: User
            do {
                user = try await authenticate(request, into: &context)
            } catch let error as APIError where error.code == "session_ended" {
                // The browser still holds a dead cookie: clear it with the answer.
                var response = try error.response(from: request, context: context)
                response.setCookie(browser.clearingCookie)
                return response
            }
            return try await SessionResponse(user: user, memberships: users.memberships(of: user.id))
                .response(from: request, context: context)
        }
        // Signing out ends the session if it is alive and always clears the cookie: a dead cookie
        // must not stay in the browser.
        group.delete("session") { request, context in
            guard let session = browser.sessionID(of: request) else {
                throw APIError(.unauthorized, code: "not_signed_in", "Not signed in")
            }
            try browser.checkOrigin(request, required: true)
            try await users.signOut(session: session)
            var response = Response(status: .noContent)
            response.setCookie(browser.clearingCookie)
            return response
        }
        // The invitation's token travels in the body, never in a path a proxy's log keeps.
        group.post("invites/preview") { request, context in
            try browser.checkOrigin(request, required: false)
            let body = try await JSONBody.decode(InviteTokenBody.self, from: request, context: context)
            guard let invite = try await users.invite(token: Secret(body.token)),
                let workspace = try await services.workspaces.workspace(id: invite.workspaceID)
            else { throw Self.inviteNotFound }
            return InvitePreviewResponse(
                workspace: .init(id: workspace.id, name: workspace.name), role: invite.role.rawValue, email: invite.email)
        }
        group.post("invites/accept") { request, context in
            try browser.checkOrigin(request, required: false)
            let body = try await JSONBody.decode(AcceptInviteBody.self, from: request, context: context)
            var context = context
            // A live session accepts as its person; a dead cookie is as good as none.
            if browser.sessionID(of: request) != nil {
                do {
                    _ = try await authenticate(request, into: &context)
                } catch let error as APIError where error.code == "session_ended" {}
            }
            do {
                let (user, session) = try await users.acceptInvite(
                    token: Secret(body.token), as: context.user, email: body.email, name: body.name,
                    password: body.password.map(Secret.init))
                if let session { return try await signedIn(user, session: session, status: .ok, request: request, context: context) }
                return try await SessionResponse(user: user, memberships: users.memberships(of: user.id))
                    .response(from: request, context: context)
            } catch let error as WorkspaceError where error.kind == .notFound {
                throw Self.inviteNotFound
            }
        }
    }

    static let inviteNotFound = APIError(
        .notFound, code: "invite_not_found", "This invitation is not valid: it works once, for 7 days")

    /// The session cookie must be there and alive.
    /// The signed-in person, also recorded in `context`.
    private func authenticate(_ request: Request, into context: inout PosthornRequestContext) async throws -> User {
        guard let session = browser.sessionID(of: request) else {
            throw APIError(.unauthorized, code: "not_signed_in", "Not signed in")
        }
        return try await SessionAuthentication(users: users, browser: browser).signIn(request, session: session, into: &context)
    }

    /// The answer that signs a browser in: the session and its cookie.
    private func signedIn(
        _ user: User, session: Secret, status: HTTPResponse.Status, request: Request, context: PosthornRequestContext
    ) async throws -> Response {
        let body = try await SessionResponse(user: user, memberships: users.memberships(of: user.id))
        var response = try body.response(from: request, context: context)
        response.status = status
        response.setCookie(browser.cookie(for: session))
        return response
    }
}

// MARK: - Bodies

struct SetupBody: Decodable {
    var token: String
    var email: String
    var name: String
    var password: String

    private enum Key: String, CodingKey { case token, email, name, password }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: ["token", "email", "name", "password"])
        let container = try decoder.container(keyedBy: Key.self)
        token = try container.decode(String.self, forKey: .token)
        email = try container.decode(String.self, forKey: .email)
        name = try container.decode(String.self, forKey: .name)
        password = try container.decode(String.self, forKey: .password)
    }
}

struct SignInBody: Decodable {
    var email: String
    var password: String

    private enum Key: String, CodingKey { case email, password }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: ["email", "password"])
        let container = try decoder.container(keyedBy: Key.self)
        email = try container.decode(String.self, forKey: .email)
        password = try container.decode(String.self, forKey: .password)
    }
}

struct InviteTokenBody: Decodable {
    var token: String

    private enum Key: String, CodingKey { case token }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: ["token"])
        token = try decoder.container(keyedBy: Key.self).decode(String.self, forKey: .token)
    }
}

struct AcceptInviteBody: Decodable {
    var token: String
    var email: String?
    var name: String?
    var password: String?

    private enum Key: String, CodingKey { case token, email, name, password }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: ["token", "email", "name", "password"])
        let container = try decoder.container(keyedBy: Key.self)
        token = try container.decode(String.self, forKey: .token)
        email = try container.decodeIfPresent(String.self, forKey: .email)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        password = try container.decodeIfPresent(String.self, forKey: .password)
    }
}

// MARK: - Responses

struct SetupStatusResponse: ResponseEncodable {
    var needed: Bool
}

/// Who is signed in and where they work.
struct SessionResponse: ResponseEncodable {
    struct UserBody: Encodable {
        var id: String
        var email: String
        var name: String
        var isOwner: Bool
    }

    struct WorkspaceBody: Encodable {
        var id: String
        var name: String
        var role: String
    }

    var user: UserBody
    var workspaces: [WorkspaceBody]

    init(user: User, memberships: [Membership]) {
        self.user = UserBody(id: user.id, email: user.email, name: user.name, isOwner: user.isOwner)
        workspaces = memberships.map { WorkspaceBody(id: $0.workspace.id, name: $0.workspace.name, role: $0.role.rawValue) }
    }
}

struct InvitePreviewResponse: ResponseEncodable {
    struct WorkspaceName: Encodable {
        var id: String
        var name: String
    }

    var workspace: WorkspaceName
    var role: String
    @ExplicitNull var email: String?
}
