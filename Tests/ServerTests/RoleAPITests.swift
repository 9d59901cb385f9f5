import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Secrets
import Server
import Storage
import Testing
import Workspaces

@Suite("API: roles, members, invitations and what admins see of credentials")
struct RoleAPITests {
    /// A credential the egress policy refuses before connecting (10.0.0.0/8 is not allowlisted):
    /// a test of it fails fast with `EPOLICY` and is still recorded.
    static let relay = #"{"name":"Relay","host":"10.1.2.3","port":587,"username":"alice","password":"relay-password-0123"}"#

    /// The owner (admin of `default`), a member of `default`, and a credential there.
    struct Team {
        var owner: String
        var ownerID: String
        var member: String
        var memberID: String
        var workspaceID: String
        var credentialID: String
    }

    static func team(_ harness: APIHarness, _ client: any TestClientProtocol) async throws -> Team {
        let owner = try await harness.setUpOwner(client)
        let ownerID = try #require(try await client.browse(.get, "/api/v1/session", session: owner, origin: nil).user["id"] as? String)
        let workspaceID = try await harness.defaultWorkspace().id
        let member = try await harness.account("mia@example.com", role: .member, in: workspaceID)
        let created = try await client.browse(.post, "/api/v1/credentials", session: owner, json: relay)
        try #require(created.status == .created, "\(created.text)")
        return Team(
            owner: owner, ownerID: ownerID, member: member.session, memberID: member.id, workspaceID: workspaceID,
            credentialID: try #require(created["id"] as? String))
    }

    // MARK: - Roles

    @Test("a member lists credentials as id, type and name only")
    func memberCredentialList() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                let listed = try await client.browse(.get, "/api/v1/credentials", session: team.member, origin: nil)
                #expect(listed.status == .ok)
                let items = try #require(listed["credentials"] as? [[String: Any]])
                #expect(items.count == 1)
                #expect(Set(items[0].keys) == ["id", "type", "name"])
                #expect(items[0]["id"] as? String == team.credentialID)
                #expect(items[0]["type"] as? String == "smtp")
                #expect(items[0]["name"] as? String == "Relay")
                #expect(!listed.text.contains("10.1.2.3"))
                #expect(!listed.text.contains("alice"))

                let admin = try await client.browse(.get, "/api/v1/credentials", session: team.owner, origin: nil)
                let full = try #require((admin["credentials"] as? [[String: Any]])?.first)
                #expect(full["host"] as? String == "10.1.2.3")
                #expect(full["hasPassword"] as? Bool == true)
                #expect(full["lastTest"] is NSNull)
                #expect((full["usedBy"] as? [Any])?.isEmpty == true)

                #expect(try await client.browse(.get, "/api/v1/credential-presets", session: team.member, origin: nil).status == .ok)
                #expect(try await client.browse(.get, "/api/v1/flows", session: team.member, origin: nil).status == .ok)
            }
        }
    }

    /// `{credential}` and `{owner}` stand for the fixture's ids.
    @Test("every other credential, token, member and invite call is 403 admin_required for a member, and changes nothing", arguments: [
        ("GET", "/api/v1/credentials/{credential}", nil),
        ("PATCH", "/api/v1/credentials/{credential}", #"{"name":"Renamed"}"#),
        ("DELETE", "/api/v1/credentials/{credential}", nil),
        ("POST", "/api/v1/credentials", #"{"name":"Another","host":"smtp.example.com"}"#),
        ("POST", "/api/v1/credentials/{credential}/test", nil),
        ("POST", "/api/v1/credentials/test", #"{"name":"Draft","host":"smtp.example.com"}"#),
        ("POST", "/api/v1/credentials/test", #"{"credentialId":"{credential}"}"#),
        ("GET", "/api/v1/tokens", nil),
        ("POST", "/api/v1/tokens", #"{"name":"Mine"}"#),
        ("DELETE", "/api/v1/tokens/{token}", nil),
        ("GET", "/api/v1/members", nil),
        ("PATCH", "/api/v1/members/{owner}", #"{"role":"member"}"#),
        ("PATCH", "/api/v1/members/{member}", #"{"role":"admin"}"#),
        ("DELETE", "/api/v1/members/{owner}", nil),
        ("POST", "/api/v1/invites", #"{"role":"admin"}"#),
    ] as [(String, String, String?)])
    func memberRefused(method: String, path: String, json: String?) async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                let tokenID = try #require(try await harness.environment.services.workspaces.tokens(in: team.workspaceID).first?.id)
                func fill(_ text: String) -> String {
                    text.replacingOccurrences(of: "{credential}", with: team.credentialID).replacingOccurrences(of: "{owner}", with: team.ownerID)
                        .replacingOccurrences(of: "{member}", with: team.memberID).replacingOccurrences(of: "{token}", with: tokenID)
                }
                func snapshot() async throws -> [NSDictionary] {
                    [
                        try await client.browse(.get, "/api/v1/credentials", session: team.owner, origin: nil).json,
                        try await client.browse(.get, "/api/v1/tokens", session: team.owner, origin: nil).json,
                        try await client.browse(.get, "/api/v1/members", session: team.owner, origin: nil).json,
                    ]
                }
                let before = try await snapshot()

                let refused = try await client.browse(
                    HTTPRequest.Method(rawValue: method)!, fill(path), session: team.member, json: json.map(fill))
                #expect(refused.status == .forbidden, "\(refused.text)")
                #expect(refused.errorCode == "admin_required")
                #expect(try await snapshot() == before)
            }
        }
    }

    @Test("another workspace's credentials are invisible to an admin here: not listed, 404 by id")
    func otherWorkspaceCredentials() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                let elsewhere = try await harness.workspaceWithID("Elsewhere")
                let theirs = try await client.call(.post, "/api/v1/credentials", token: elsewhere.token, json: #"{"name":"Theirs","host":"smtp.example.com"}"#)
                let theirID = try #require(theirs["id"] as? String)
                let admin = try await harness.account("ada@example.com", role: .admin, in: team.workspaceID)

                let listed = try await client.browse(.get, "/api/v1/credentials", session: admin.session, origin: nil)
                #expect((listed["credentials"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Relay"])
                for method: HTTPRequest.Method in [.get, .delete] {
                    let missing = try await client.browse(method, "/api/v1/credentials/\(theirID)", session: admin.session)
                    #expect(missing.status == .notFound, "\(method)")
                }
                #expect(try await client.browse(.post, "/api/v1/credentials/\(theirID)/test", session: admin.session).status == .notFound)
                #expect(try await client.browse(.post, "/api/v1/credentials/test", session: admin.session, json: #"{"credentialId":"\#(theirID)"}"#).status == .notFound)
                #expect(try await client.browse(.get, "/api/v1/credentials", session: admin.session, origin: nil, workspace: elsewhere.id).status == .notFound)
                #expect(try await client.call(.get, "/api/v1/credentials/\(theirID)", token: elsewhere.token).status == .ok, "still there")
            }
        }
    }

    // MARK: - Members

    @Test("an admin lists members, changes roles and removes people; the last admin stays (409 last_admin)")
    func members() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                let ben = try await harness.account("ben@example.com", role: .member, in: team.workspaceID)

                let listed = try await client.browse(.get, "/api/v1/members", session: team.owner, origin: nil)
                let items = try #require(listed["items"] as? [[String: Any]])
                #expect(items.map { $0["email"] as? String } == ["ben@example.com", "mia@example.com", Browser.ownerEmail])
                #expect(items.map { $0["role"] as? String } == ["member", "member", "admin"])
                let joined = items[1]["joinedAt"] as? String

                let promoted = try await client.browse(.patch, "/api/v1/members/\(team.memberID)", session: team.owner, json: #"{"role":"admin"}"#)
                #expect(promoted.status == .ok, "\(promoted.text)")
                #expect(promoted["role"] as? String == "admin")
                #expect(promoted["joinedAt"] as? String == joined, "a role change keeps the join date")
                let promotedRoles = try await client.browse(.get, "/api/v1/session", session: team.member, origin: nil).workspaceRoles
                #expect(promotedRoles == ["default": "admin"])

                let ownerStepsDown = try await client.browse(.patch, "/api/v1/members/\(team.ownerID)", session: team.owner, json: #"{"role":"member"}"#)
                #expect(ownerStepsDown.status == .ok)
                #expect(try await client.browse(.get, "/api/v1/members", session: team.owner, origin: nil).errorCode == "admin_required")

                let lastDemoted = try await client.browse(.patch, "/api/v1/members/\(team.memberID)", session: team.member, json: #"{"role":"member"}"#)
                #expect(lastDemoted.status == .conflict)
                #expect(lastDemoted.errorCode == "last_admin")
                let lastRemoved = try await client.browse(.delete, "/api/v1/members/\(team.memberID)", session: team.member)
                #expect(lastRemoved.status == .conflict)
                #expect(lastRemoved.errorCode == "last_admin")
                #expect(try await harness.environment.services.users.members(of: team.workspaceID).filter { $0.role == .admin }.map(\.user.id) == [team.memberID])

                let sameRole = try await client.browse(.patch, "/api/v1/members/\(team.memberID)", session: team.member, json: #"{"role":"admin"}"#)
                #expect(sameRole.status == .ok, "the last admin staying admin is no change")

                let removed = try await client.browse(.delete, "/api/v1/members/\(ben.id)", session: team.member)
                #expect(removed.status == .noContent)
                #expect(try await client.browse(.delete, "/api/v1/members/\(ben.id)", session: team.member).status == .notFound)
                #expect(try await client.browse(.patch, "/api/v1/members/\(ben.id)", session: team.member, json: #"{"role":"member"}"#).status == .notFound)
                #expect(try await client.browse(.patch, "/api/v1/members/usr_missing", session: team.member, json: #"{"role":"admin"}"#).status == .notFound)
                let removedSees = try await client.browse(.get, "/api/v1/credentials", session: ben.session, origin: nil)
                #expect(removedSees.errorCode == "no_workspace", "removed at once, in the same session")

                let badRole = try await client.browse(.patch, "/api/v1/members/\(team.ownerID)", session: team.member, json: #"{"role":"owner"}"#)
                #expect(badRole.status == .unprocessableContent)
                #expect(badRole.errorField == "role")
            }
        }
    }

    @Test("a workspace API token manages members like an admin, and the last-admin rule holds for it too")
    func membersByToken() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                let token = try await harness.environment.services.workspaces.createToken(name: "automation", in: team.workspaceID, createdBy: nil).1.revealedValue
                #expect(try await client.call(.get, "/api/v1/members", token: token).status == .ok)
                let removeOwner = try await client.call(.delete, "/api/v1/members/\(team.ownerID)", token: token)
                #expect(removeOwner.errorCode == "last_admin")
                let invite = try await client.call(.post, "/api/v1/invites", token: token, json: #"{"role":"member","email":"new@example.com"}"#)
                #expect(invite.status == .created)
                #expect(invite["email"] as? String == "new@example.com")
            }
        }
    }

    // MARK: - Invitations

    @Test("an invite is created once, previewed, and accepted once by a new account, who gets a session and the role")
    func inviteNewAccount() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                let created = try await client.browse(.post, "/api/v1/invites", session: team.owner, json: #"{"role":"admin"}"#)
                #expect(created.status == .created, "\(created.text)")
                let url = try #require(created["url"] as? String)
                #expect(url.hasPrefix("/invite#inv_"), "\(url)")
                #expect(created["role"] as? String == "admin")
                #expect(created["email"] is NSNull)
                #expect((created["id"] as? String)?.hasPrefix("inv_") == true)
                let expires = try #require(Browser.timestamp(created["expiresAt"]))
                #expect(abs(expires.timeIntervalSinceNow - 7 * 86_400) < 120)
                let token = String(try #require(url.split(separator: "#").last))
                #expect(created["id"] as? String != token)

                let preview = try await client.browse(.post, "/api/v1/invites/preview", session: nil, json: Browser.json(["token": token]))
                #expect(preview.status == .ok)
                #expect((preview["workspace"] as? [String: Any])?["name"] as? String == "default")
                #expect(preview["role"] as? String == "admin")
                #expect(preview["email"] is NSNull)

                let accepted = try await client.browse(
                    .post, "/api/v1/invites/accept", session: nil,
                    json: Browser.json(["token": token, "email": "Nia@Example.com", "name": "Nia", "password": Browser.memberPassword]))
                #expect(accepted.status == .ok, "\(accepted.text)")
                #expect(accepted.user["email"] as? String == "nia@example.com")
                #expect(accepted.user["isOwner"] as? Bool == false)
                #expect(accepted.workspaceRoles == ["default": "admin"])
                let session = try #require(accepted.sessionCookie?.value)
                #expect(try await client.browse(.get, "/api/v1/members", session: session, origin: nil).status == .ok, "the new admin manages members")

                let again = try await client.browse(
                    .post, "/api/v1/invites/accept", session: nil,
                    json: Browser.json(["token": token, "email": "oli@example.com", "name": "Oli", "password": Browser.memberPassword]))
                #expect(again.status == .notFound)
                #expect(again.errorCode == "invite_not_found")
                #expect(again.sessionCookie == nil)
                let previewAgain = try await client.browse(.post, "/api/v1/invites/preview", session: nil, json: Browser.json(["token": token]))
                #expect(previewAgain.errorCode == "invite_not_found")
                #expect(try await harness.environment.services.users.allUsers().map(\.email).contains("oli@example.com") == false)
                let unknown = try await client.browse(.post, "/api/v1/invites/preview", session: nil, json: Browser.json(["token": "inv_" + String(repeating: "a", count: 52)]))
                #expect(unknown.errorCode == "invite_not_found")
            }
        }
    }

    @Test("an invite for one address refuses another and leaves no account behind; that address is case-insensitive")
    func inviteBoundToEmail() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                let users = harness.environment.services.users
                let badEmail = try await client.browse(.post, "/api/v1/invites", session: team.owner, json: #"{"role":"member","email":"dan"}"#)
                #expect(badEmail.status == .unprocessableContent)
                #expect(badEmail.errorField == "email")
                let badRole = try await client.browse(.post, "/api/v1/invites", session: team.owner, json: #"{"role":"owner"}"#)
                #expect(badRole.errorField == "role")
                let created = try await client.browse(.post, "/api/v1/invites", session: team.owner, json: #"{"role":"member","email":"Dan@Example.com"}"#)
                #expect(created["email"] as? String == "dan@example.com")
                let token = String(try #require((created["url"] as? String)?.split(separator: "#").last))
                #expect(try await client.browse(.post, "/api/v1/invites/preview", session: nil, json: Browser.json(["token": token]))["email"] as? String == "dan@example.com")
                let before = try await users.allUsers()

                let stranger = try await client.browse(
                    .post, "/api/v1/invites/accept", session: nil,
                    json: Browser.json(["token": token, "email": "eve@example.com", "name": "Eve", "password": Browser.memberPassword]))
                #expect(stranger.status == .unprocessableContent)
                #expect(stranger.errorField == "email")
                #expect(stranger.sessionCookie == nil)
                #expect(try await users.allUsers() == before, "no account behind")
                let eve = try await client.browse(.post, "/api/v1/session", session: nil, json: Browser.json(["email": "eve@example.com", "password": Browser.memberPassword]))
                #expect(eve.status == .unauthorized)
                let memberAccepts = try await client.browse(.post, "/api/v1/invites/accept", session: team.member, json: Browser.json(["token": token]))
                #expect(memberAccepts.errorField == "email", "a signed-in person with another address is refused too")

                let dan = try await client.browse(
                    .post, "/api/v1/invites/accept", session: nil,
                    json: Browser.json(["token": token, "email": "DAN@example.com", "name": "Dan", "password": Browser.memberPassword]))
                #expect(dan.status == .ok, "\(dan.text)")
                #expect(dan.workspaceRoles == ["default": "member"])
            }
        }
    }

    @Test("a new account's form is checked before the invite is used: a bad field or a taken email uses nothing")
    func inviteFormChecked() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                let created = try await client.browse(.post, "/api/v1/invites", session: team.owner, json: #"{"role":"member"}"#)
                let token = String(try #require((created["url"] as? String)?.split(separator: "#").last))
                let cases: [([String: Any], String)] = [
                    (["token": token, "email": "new@example.com", "name": "New", "password": "short"], "password"),
                    (["token": token, "email": "not an email", "name": "New", "password": Browser.memberPassword], "email"),
                    (["token": token, "email": "new@example.com", "name": "", "password": Browser.memberPassword], "name"),
                    (["token": token, "name": "New", "password": Browser.memberPassword], "email"),
                    (["token": token, "email": "new@example.com", "name": "New"], "password"),
                    (["token": token, "email": "MIA@example.com", "name": "Mia", "password": Browser.memberPassword], "email"),
                ]
                for (body, field) in cases {
                    let refused = try await client.browse(.post, "/api/v1/invites/accept", session: nil, json: Browser.json(body))
                    #expect(refused.errorField == field, "\(refused.text)")
                    #expect(refused.sessionCookie == nil)
                }
                let preview = try await client.browse(.post, "/api/v1/invites/preview", session: nil, json: Browser.json(["token": token]))
                #expect(preview.status == .ok, "the invite is still unused")
            }
        }
    }

    @Test("signed in, accepting keeps an admin admin, raises a member to the invite's admin, and starts no new session")
    func inviteWhileSignedIn() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                func invite(_ role: String) async throws -> String {
                    let created = try await client.browse(.post, "/api/v1/invites", session: team.owner, json: #"{"role":"\#(role)"}"#)
                    return String(try #require((created["url"] as? String)?.split(separator: "#").last))
                }

                let memberInvite = try await invite("member")
                let noOrigin = try await client.browse(.post, "/api/v1/invites/accept", session: team.owner, origin: nil, json: Browser.json(["token": memberInvite]))
                #expect(noOrigin.errorCode == "csrf_refused", "a cookie-authenticated accept names its origin")
                let ownerAccepts = try await client.browse(.post, "/api/v1/invites/accept", session: team.owner, json: Browser.json(["token": memberInvite]))
                #expect(ownerAccepts.status == .ok, "\(ownerAccepts.text)")
                #expect(ownerAccepts.workspaceRoles == ["default": "admin"], "an invite never demotes")
                #expect(ownerAccepts.sessionCookie == nil)
                #expect(try await client.browse(.post, "/api/v1/invites/preview", session: nil, json: Browser.json(["token": memberInvite])).errorCode == "invite_not_found")

                let adminInvite = try await invite("admin")
                let memberAccepts = try await client.browse(.post, "/api/v1/invites/accept", session: team.member, json: Browser.json(["token": adminInvite]))
                #expect(memberAccepts.workspaceRoles == ["default": "admin"])
                #expect(memberAccepts.sessionCookie == nil)

                let other = try await harness.workspaceWithID("Other")
                let created = try await client.browse(.post, "/api/v1/invites", session: team.owner, workspace: other.id, json: #"{"role":"member"}"#)
                let otherInvite = String(try #require((created["url"] as? String)?.split(separator: "#").last))
                let joins = try await client.browse(.post, "/api/v1/invites/accept", session: team.member, json: Browser.json(["token": otherInvite]))
                #expect(joins.workspaceRoles == ["default": "admin", "Other": "member"])
            }
        }
    }

    // MARK: - Workspaces

    @Test("the owner creates a workspace with the session and is its admin; another admin may not; admin-token workspaces get the owner too")
    func workspaces() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                let made = try await client.browse(.post, "/api/v1/workspaces", session: team.owner, json: #"{"name":"Sales"}"#)
                #expect(made.status == .created, "\(made.text)")
                let salesID = try #require((made["workspace"] as? [String: Any])?["id"] as? String)
                #expect(!(made["token"] is String), "a person gets no API token made behind their back")
                #expect(try await client.browse(.get, "/api/v1/workspace", session: team.owner, origin: nil, workspace: salesID)["name"] as? String == "Sales")
                let salesTokens = try await client.browse(.get, "/api/v1/tokens", session: team.owner, origin: nil, workspace: salesID)
                #expect((salesTokens["items"] as? [Any])?.isEmpty == true, "\(salesTokens.text)")

                let byAdminToken = try await client.call(.post, "/api/v1/workspaces", token: APIHarness.adminToken, json: #"{"name":"Ops"}"#)
                #expect(byAdminToken.status == .created)
                #expect((byAdminToken["token"] as? String)?.hasPrefix("ph_") == true, "a script gets the workspace's token")
                let roles = try await client.browse(.get, "/api/v1/session", session: team.owner, origin: nil).workspaceRoles
                #expect(roles == ["default": "admin", "Sales": "admin", "Ops": "admin"])
                #expect(try await client.browse(.get, "/api/v1/session", session: team.member, origin: nil).workspaceRoles == ["default": "member"])

                let admin = try await harness.account("ada@example.com", role: .admin, in: team.workspaceID)
                let refused = try await client.browse(.post, "/api/v1/workspaces", session: admin.session, json: #"{"name":"Mine"}"#)
                #expect(refused.status == .forbidden)
                #expect(refused.errorCode == "owner_required")
                #expect(try await harness.environment.storage.store.workspace(named: "Mine") == nil)
            }
        }
    }

    // MARK: - Credentials

    @Test("lastTest appears after a test of the stored credential; usedBy lists the flows whose smtp.send step uses it")
    func lastTestAndUsedBy() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                let fresh = try await client.browse(.get, "/api/v1/credentials/\(team.credentialID)", session: team.owner, origin: nil)
                #expect(fresh["lastTest"] is NSNull)
                #expect((fresh["usedBy"] as? [Any])?.isEmpty == true)

                let tested = try await client.browse(.post, "/api/v1/credentials/\(team.credentialID)/test", session: team.owner)
                #expect(tested.status == .ok)
                #expect(tested["ok"] as? Bool == false)
                #expect((tested["error"] as? [String: Any])?["code"] as? String == "EPOLICY")

                let flow = """
                    {"name":"Welcome","trigger":{"type":"manual"},"steps":[
                     {"id":"greet","type":"debug.echo","parameters":{"message":"hi"}},
                     {"id":"send","type":"smtp.send","parameters":{"credential":"\(team.credentialID)","from":"ann@example.com","to":"bob@example.com","subject":"Hi","body":"Hello"}}]}
                    """
                let madeFlow = try await client.browse(.post, "/api/v1/flows", session: team.member, json: flow)
                #expect(madeFlow.status == .created, "\(madeFlow.text)")
                let flowID = try #require(madeFlow["id"] as? String)
                let other = flow.replacingOccurrences(of: "Welcome", with: "Another")
                #expect(try await client.browse(.post, "/api/v1/flows", session: team.member, json: other).status == .created)

                let shown = try await client.browse(.get, "/api/v1/credentials/\(team.credentialID)", session: team.owner, origin: nil)
                let lastTest = try #require(shown["lastTest"] as? [String: Any], "\(shown.text)")
                #expect(lastTest["ok"] as? Bool == false)
                #expect(lastTest["code"] as? String == "EPOLICY")
                #expect(lastTest["tlsVersion"] is NSNull)
                let at = try #require(Browser.timestamp(lastTest["at"]))
                #expect(abs(at.timeIntervalSinceNow) < 60)
                let usedBy = try #require(shown["usedBy"] as? [[String: Any]])
                #expect(usedBy.map { $0["name"] as? String } == ["Another", "Welcome"])
                #expect(usedBy.last?["id"] as? String == flowID)

                let listed = try await client.browse(.get, "/api/v1/credentials", session: team.owner, origin: nil)
                let item = try #require((listed["credentials"] as? [[String: Any]])?.first)
                #expect((item["lastTest"] as? [String: Any])?["code"] as? String == "EPOLICY")
                #expect((item["usedBy"] as? [Any])?.count == 2)

                let patched = try await client.browse(.patch, "/api/v1/credentials/\(team.credentialID)", session: team.owner, json: #"{"name":"Renamed"}"#)
                #expect((patched["usedBy"] as? [Any])?.count == 2, "PATCH answers with the same extras")
                #expect((patched["lastTest"] as? [String: Any])?["ok"] as? Bool == false)
            }
        }
    }

    @Test("testing a form: a stored credential's new destination needs the password again; port 25 is refused; nothing is stored")
    func draftTest() async throws {
        try await APIHarness.run { harness in
            try await harness.test { client in
                let team = try await Self.team(harness, client)
                let before = try await client.browse(.get, "/api/v1/credentials/\(team.credentialID)", session: team.owner, origin: nil)

                let moved = try await client.browse(
                    .post, "/api/v1/credentials/test", session: team.owner, json: #"{"credentialId":"\#(team.credentialID)","host":"10.9.9.9"}"#)
                #expect(moved.status == .unprocessableContent)
                #expect(moved.errorField == "password")
                for change in [#""port":2525"#, #""acceptUnverifiedCertificates":true"#, #""minTLSVersion":"1.3""#] {
                    let changed = try await client.browse(
                        .post, "/api/v1/credentials/test", session: team.owner, json: #"{"credentialId":"\#(team.credentialID)",\#(change)}"#)
                    #expect(changed.errorField == "password", "\(change)")
                }

                let port25 = try await client.browse(.post, "/api/v1/credentials/test", session: team.owner, json: #"{"name":"Draft","host":"smtp.example.com","port":25}"#)
                #expect(port25.status == .unprocessableContent)
                #expect(port25.errorField == "port")
                let missingHost = try await client.browse(.post, "/api/v1/credentials/test", session: team.owner, json: #"{"name":"Draft"}"#)
                #expect(missingHost.errorField == "host")
                let versioned = try await client.browse(.post, "/api/v1/credentials/test", session: team.owner, json: #"{"name":"Draft","host":"smtp.example.com","version":1}"#)
                #expect(versioned.errorField == "version")
                let unknown = try await client.browse(.post, "/api/v1/credentials/test", session: team.owner, json: #"{"credentialId":"cred_missing"}"#)
                #expect(unknown.status == .notFound)

                let sameDestination = try await client.browse(
                    .post, "/api/v1/credentials/test", session: team.owner, json: #"{"credentialId":"\#(team.credentialID)","name":"Renamed in the form"}"#)
                #expect(sameDestination.status == .ok, "\(sameDestination.text)")
                #expect((sameDestination["error"] as? [String: Any])?["code"] as? String == "EPOLICY")
                let withPassword = try await client.browse(
                    .post, "/api/v1/credentials/test", session: team.owner,
                    json: #"{"credentialId":"\#(team.credentialID)","host":"10.9.9.9","password":"another-password-01"}"#)
                #expect(withPassword.status == .ok, "\(withPassword.text)")
                let draft = try await client.browse(.post, "/api/v1/credentials/test", session: team.owner, json: #"{"name":"Draft","host":"10.2.2.2"}"#)
                #expect(draft.status == .ok, "\(draft.text)")
                #expect((draft["error"] as? [String: Any])?["code"] as? String == "EPOLICY")

                let after = try await client.browse(.get, "/api/v1/credentials/\(team.credentialID)", session: team.owner, origin: nil)
                #expect(after.json == before.json, "a form's test stores nothing, not even a lastTest")
                #expect((try await client.browse(.get, "/api/v1/credentials", session: team.owner, origin: nil)["credentials"] as? [Any])?.count == 1)

                let refusedElsewhere = try await client.browse(
                    .post, "/api/v1/credentials", session: team.owner, json: #"{"name":"Relay","host":"smtp.example.com","credentialId":"x"}"#)
                #expect(refusedElsewhere.errorField == "credentialId", "credentialId belongs to the test call only")
            }
        }
    }
}
