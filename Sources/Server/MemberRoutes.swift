import Foundation
import HTTPTypes
import Hummingbird
import Secrets
import Workspaces

/// A workspace's people, for its admins: `members` (list, change a role, remove) and `invites`
/// (a one-time link). A workspace token counts as an admin (automation); a member gets 403.
struct MemberRoutes {
    let services: PosthornServices

    func register(on group: RouterGroup<PosthornRequestContext>) {
        group.get("members") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            return MemberListResponse(items: try await services.users.members(of: workspace.id).map(MemberResponse.init))
        }
        group.patch("members/:userId") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let userID = try context.parameters.require("userId")
            let body = try await JSONBody.decode(RoleBody.self, from: request, context: context)
            try await services.users.setRole(body.role, of: userID, in: workspace.id)
            guard let member = try await services.users.members(of: workspace.id).first(where: { $0.user.id == userID }) else {
                throw WorkspaceError(.notFound, "Member not found")
            }
            return MemberResponse(member)
        }
        group.delete("members/:userId") { _, context in
            let workspace = try context.requireWorkspaceAdmin()
            let userID = try context.parameters.require("userId")
            try await services.users.removeMember(userID, from: workspace.id)
            return HTTPResponse.Status.noContent
        }
        group.post("invites") { request, context in
            let workspace = try context.requireWorkspaceAdmin()
            let body = try await JSONBody.decode(InviteBody.self, from: request, context: context)
            let inviter = context.user?.id ?? context.apiTokenID ?? "admin"
            let (invite, token) = try await services.users.invite(to: workspace.id, role: body.role, email: body.email, by: inviter)
            return EditedResponse(
                status: .created,
                response: CreatedInviteResponse(
                    id: invite.id, url: services.browser.absolute("/invite#" + token.revealedValue), role: invite.role.rawValue,
                    email: invite.email, expiresAt: Timestamp.string(invite.expiresAt)))
        }
    }

}

struct RoleBody: Decodable {
    var role: WorkspaceRole

    private enum Key: String, CodingKey { case role }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: ["role"])
        role = try WorkspaceRole.decode(from: decoder.container(keyedBy: Key.self), key: .role)
    }
}

struct InviteBody: Decodable {
    var role: WorkspaceRole
    var email: String?

    private enum Key: String, CodingKey { case role, email }

    init(from decoder: any Decoder) throws {
        try KeyedDecodingContainer<Key>.refuseUnknownKeys(in: decoder, known: ["role", "email"])
        let container = try decoder.container(keyedBy: Key.self)
        role = try WorkspaceRole.decode(from: container, key: .role)
        email = try container.decodeIfPresent(String.self, forKey: .email)
    }
}

extension WorkspaceRole {
    /// `admin` or `member`, else 422 naming `role`.
    static func decode<Key: CodingKey>(from container: KeyedDecodingContainer<Key>, key: Key) throws -> WorkspaceRole {
        let text = try container.decode(String.self, forKey: key)
        guard let role = WorkspaceRole(rawValue: text) else {
            throw APIError(.unprocessableContent, code: "validation_failed", field: "role", "Role must be admin or member")
        }
        return role
    }
}

struct MemberResponse: ResponseEncodable {
    var userId: String
    var email: String
    var name: String
    var role: String
    var joinedAt: String

    init(_ member: Member) {
        userId = member.user.id
        email = member.user.email
        name = member.user.name
        role = member.role.rawValue
        joinedAt = Timestamp.string(member.joinedAt)
    }
}

struct MemberListResponse: ResponseEncodable {
    var items: [MemberResponse]
}

/// The one answer that shows an invitation link.
struct CreatedInviteResponse: ResponseEncodable {
    var id: String
    var url: String
    var role: String
    @ExplicitNull var email: String?
    var expiresAt: String
}
