import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Secrets
import Server
import Storage
import Testing
import Vault
import Workspaces

@Suite("API: SMTP credentials")
struct CredentialAPITests {
    static let sendGrid = #"{"type":"smtp","name":"Marketing — SendGrid","host":"smtp.sendgrid.net","port":587,"username":"apikey","password":"SG.secret-value"}"#

    @Test("create shows every field but the password, with the spec's defaults")
    func create() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: Self.sendGrid)
                #expect(created.status == .created)
                let id = try #require(created["id"] as? String)
                #expect(created.headers[.location] == "/api/v1/credentials/\(id)")
                #expect(created["type"] as? String == "smtp")
                #expect(created["hasPassword"] as? Bool == true)
                #expect(created["security"] as? String == "starttls")
                #expect(created["minTLSVersion"] as? String == "1.2")
                #expect(created["acceptUnverifiedCertificates"] as? Bool == false)
                #expect(created.object.keys.contains("clientIdentifier"))
                #expect(created.object["password"] == nil)
                #expect(!created.text.contains("SG.secret-value"))

                let fetched = try await client.call(.get, "/api/v1/credentials/\(id)", token: token)
                #expect(fetched.status == .ok)
                #expect(fetched["name"] as? String == "Marketing — SendGrid")
                let list = try await client.call(.get, "/api/v1/credentials", token: token)
                #expect((list["credentials"] as? [[String: Any]])?.count == 1)
                #expect(!list.text.contains("SG.secret-value"))
            }
        }
    }

    @Test("the port defaults from the security choice")
    func portDefaults() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let implicit = try await client.call(.post, "/api/v1/credentials", token: token, json: #"{"name":"a","host":"smtp.example.com","security":"implicit-tls"}"#)
                #expect(implicit["port"] as? Int == 465)
                let starttls = try await client.call(.post, "/api/v1/credentials", token: token, json: #"{"name":"b","host":"smtp.example.com"}"#)
                #expect(starttls["port"] as? Int == 587)
                #expect(starttls["hasPassword"] as? Bool == false)
                #expect(starttls["username"] is NSNull)
            }
        }
    }

    /// Every rule: 422 naming the field, and nothing stored.
    @Test("invalid credentials are 422 naming the field, and change nothing", arguments: [
        (#"{"name":"x","host":"smtp.example.com","port":25}"#, "port", "Port 25 is not allowed"),
        (#"{"name":"x","host":"smtp.example.com","port":0}"#, "port", nil),
        (#"{"name":"x","host":"smtp.example.com","port":65536}"#, "port", nil),
        (#"{"name":"x","host":"smtp.example.com","port":"587"}"#, "port", "Must be a whole number"),
        (#"{"name":"x","host":"smtp example.com"}"#, "host", nil),
        (#"{"name":"x","host":""}"#, "host", nil),
        (#"{"name":"x","host":"-bad-.example.com"}"#, "host", nil),
        (#"{"name":"x"}"#, "host", nil),
        (#"{"host":"smtp.example.com"}"#, "name", nil),
        (#"{"name":null,"host":"smtp.example.com"}"#, "name", nil),
        (#"{"name":"","host":"smtp.example.com"}"#, "name", nil),
        (#"{"name":"x","host":"smtp.example.com","type":"imap"}"#, "type", nil),
        (#"{"name":"x","host":"smtp.example.com","security":"ssl"}"#, "security", nil),
        (#"{"name":"x","host":"smtp.example.com","minTLSVersion":"1.1"}"#, "minTLSVersion", nil),
        (#"{"name":"x","host":"smtp.example.com","clientIdentifier":"bad name!"}"#, "clientIdentifier", nil),
        (#"{"name":"x","host":"smtp.example.com","caCertificate":"not a certificate"}"#, "caCertificate", nil),
        (#"{"name":"x","host":"smtp.example.com","username":"bob"}"#, "password", nil),
        (#"{"name":"x","host":"smtp.example.com","password":"p"}"#, "username", nil),
        (#"{"name":"x","host":"smtp.example.com","username":"bob","password":"a\r\nRSET"}"#, "password", nil),
        (#"{"name":"x","host":"smtp.example.com","username":"bo\nb","password":"p"}"#, "username", nil),
        (#"{"name":"x","host":"smtp.example.com","acceptUnverifiedCertificates":"yes"}"#, "acceptUnverifiedCertificates", nil),
        (#"{"name":"x","host":"smtp.example.com","pasword":"typo"}"#, "pasword", "Unknown field"),
    ] as [(String, String, String?)])
    func validation(body: String, field: String, message: String?) async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let response = try await client.call(.post, "/api/v1/credentials", token: token, json: body)
                #expect(response.status == .unprocessableContent)
                #expect(response.errorCode == "validation_failed")
                #expect(response.errorField == field)
                if let message { #expect(response.errorMessage?.contains(message) == true, "\(response.text)") }
                let list = try await client.call(.get, "/api/v1/credentials", token: token)
                #expect((list["credentials"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test("plaintext is stored only when chosen")
    func plaintextOnlyWhenChosen() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let response = try await client.call(.post, "/api/v1/credentials", token: token, json: #"{"name":"legacy","host":"relay.example.com","port":2525,"security":"plaintext"}"#)
                #expect(response.status == .created)
                #expect(response["security"] as? String == "plaintext")
            }
        }
    }

    @Test("a name is unique within a workspace, not across workspaces")
    func uniqueNames() async throws {
        try await APIHarness.run { harness in
            let first = try await harness.workspace("One")
            let second = try await harness.workspace("Two")
            try await harness.test { client in
                #expect(try await client.call(.post, "/api/v1/credentials", token: first, json: Self.sendGrid).status == .created)
                let duplicate = try await client.call(.post, "/api/v1/credentials", token: first, json: Self.sendGrid)
                #expect(duplicate.status == .conflict)
                #expect(duplicate.errorField == "name")
                #expect(try await client.call(.post, "/api/v1/credentials", token: second, json: Self.sendGrid).status == .created)
            }
        }
    }

    @Test("another workspace's credential is 404 for every route, and untouched")
    func isolation() async throws {
        try await APIHarness.run { harness in
            let owner = try await harness.workspace("Owner")
            let intruder = try await harness.workspace("Intruder")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: owner, json: Self.sendGrid)
                let id = try #require(created["id"] as? String)
                #expect(try await client.call(.get, "/api/v1/credentials/\(id)", token: intruder).status == .notFound)
                #expect(try await client.call(.patch, "/api/v1/credentials/\(id)", token: intruder, json: #"{"host":"evil.example.com"}"#).status == .notFound)
                #expect(try await client.call(.post, "/api/v1/credentials/\(id)/test", token: intruder).status == .notFound)
                #expect(try await client.call(.delete, "/api/v1/credentials/\(id)", token: intruder).status == .notFound)
                let list = try await client.call(.get, "/api/v1/credentials", token: intruder)
                #expect((list["credentials"] as? [Any])?.isEmpty == true)
                let still = try await client.call(.get, "/api/v1/credentials/\(id)", token: owner)
                #expect(still["host"] as? String == "smtp.sendgrid.net")
            }
        }
    }

    @Test("PATCH changes only the fields given; without a password the old one stays")
    func patchKeepsPassword() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: Self.sendGrid)
                let id = try #require(created["id"] as? String)
                let before = try await harness.environment.storage.store.credential(id: id, workspaceID: try #require(harness.environment.storage.store.workspace(named: "Team")).id)
                let patched = try await client.call(
                    .patch, "/api/v1/credentials/\(id)", token: token, json: #"{"name":"Renamed","clientIdentifier":"mail.example.com"}"#)
                #expect(patched.status == .ok)
                #expect(patched["name"] as? String == "Renamed")
                #expect(patched["clientIdentifier"] as? String == "mail.example.com")
                #expect(patched["port"] as? Int == 587)
                #expect(patched["host"] as? String == "smtp.sendgrid.net")
                #expect(patched["hasPassword"] as? Bool == true)
                let after = try await harness.environment.storage.store.credential(id: id, workspaceID: try #require(before).workspaceID)
                #expect(after?.sealedPassword == before?.sealedPassword)
                let opened = try harness.environment.vault.open(try #require(after?.sealedPassword), context: try #require(after).passwordContext)
                #expect(opened.revealedValue == "SG.secret-value")
            }
        }
    }

    @Test("a PATCH that would send the stored password elsewhere needs the password again (finding 6)", arguments: [
        #"{"host":"attacker.example"}"#,
        #"{"port":2525}"#,
        #"{"security":"plaintext"}"#,
        #"{"security":"implicit-tls"}"#,
        #"{"acceptUnverifiedCertificates":true}"#,
        #"{"minTLSVersion":"1.3"}"#,
        #"{"caCertificate":null,"host":"relay.example"}"#,
    ])
    func destinationChangeNeedsPassword(body: String) async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: Self.sendGrid)
                let id = try #require(created["id"] as? String)
                let refused = try await client.call(.patch, "/api/v1/credentials/\(id)", token: token, json: body)
                #expect(refused.status == .unprocessableContent)
                #expect(refused.errorField == "password")
                #expect(refused.errorMessage == "Enter the password again to change where it is sent")
                let unchanged = try await client.call(.get, "/api/v1/credentials/\(id)", token: token)
                #expect(unchanged["host"] as? String == "smtp.sendgrid.net")
                #expect(unchanged["version"] as? Int == 1)

                // With the password typed again, the same change is accepted.
                let withPassword = String(body.dropLast()) + #","password":"SG.secret-value"}"#
                let accepted = try await client.call(.patch, "/api/v1/credentials/\(id)", token: token, json: withPassword)
                #expect(accepted.status == .ok, "\(accepted.text)")
                #expect(accepted["version"] as? Int == 2)
            }
        }
    }

    @Test("a PATCH from a stale version is 409 version_conflict and changes nothing; without a version it applies")
    func versionConflict() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: Self.sendGrid)
                let id = try #require(created["id"] as? String)
                #expect(created["version"] as? Int == 1)
                let first = try await client.call(.patch, "/api/v1/credentials/\(id)", token: token, json: #"{"name":"First","version":1}"#)
                #expect(first.status == .ok)
                #expect(first["version"] as? Int == 2)
                let stale = try await client.call(.patch, "/api/v1/credentials/\(id)", token: token, json: #"{"name":"Second","version":1}"#)
                #expect(stale.status == .conflict)
                #expect(stale.errorCode == "version_conflict")
                #expect(stale.errorField == "version")
                let after = try await client.call(.get, "/api/v1/credentials/\(id)", token: token)
                #expect(after["name"] as? String == "First")
                let unversioned = try await client.call(.patch, "/api/v1/credentials/\(id)", token: token, json: #"{"name":"Third"}"#)
                #expect(unversioned["version"] as? Int == 3)
            }
        }
    }

    @Test("PATCH with a new password re-seals it; null clears username and password together")
    func patchPassword() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: Self.sendGrid)
                let id = try #require(created["id"] as? String)
                let onlyPassword = try await client.call(.patch, "/api/v1/credentials/\(id)", token: token, json: #"{"password":null}"#)
                #expect(onlyPassword.status == .unprocessableContent)
                #expect(onlyPassword.errorField == "password")
                let cleared = try await client.call(.patch, "/api/v1/credentials/\(id)", token: token, json: #"{"username":null,"password":null}"#)
                #expect(cleared.status == .ok)
                #expect(cleared["hasPassword"] as? Bool == false)
                let set = try await client.call(.patch, "/api/v1/credentials/\(id)", token: token, json: #"{"username":"apikey","password":"SG.new"}"#)
                #expect(set["hasPassword"] as? Bool == true)
                #expect(!set.text.contains("SG.new"))
            }
        }
    }

    @Test("an invalid PATCH is 422 and changes nothing")
    func invalidPatch() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: Self.sendGrid)
                let id = try #require(created["id"] as? String)
                let response = try await client.call(
                    .patch, "/api/v1/credentials/\(id)", token: token, json: #"{"name":"New name","port":25,"password":"SG.again"}"#)
                #expect(response.status == .unprocessableContent)
                #expect(response.errorField == "port")
                #expect(response.errorMessage == "Port 25 is not allowed")
                let after = try await client.call(.get, "/api/v1/credentials/\(id)", token: token)
                #expect(after["port"] as? Int == 587)
                #expect(after["name"] as? String == "Marketing — SendGrid")
                #expect(after["updatedAt"] as? String == created["updatedAt"] as? String)
            }
        }
    }

    @Test("DELETE removes the credential; a second DELETE and a GET are 404")
    func delete() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: Self.sendGrid)
                let id = try #require(created["id"] as? String)
                #expect(try await client.call(.delete, "/api/v1/credentials/\(id)", token: token).status == .noContent)
                #expect(try await client.call(.delete, "/api/v1/credentials/\(id)", token: token).status == .notFound)
                let missing = try await client.call(.get, "/api/v1/credentials/\(id)", token: token)
                #expect(missing.status == .notFound)
                #expect(missing.errorCode == "not_found")
            }
        }
    }

    @Test("presets carry the spec's providers and hints")
    func presets() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let response = try await client.call(.get, "/api/v1/credential-presets", token: token)
                #expect(response.status == .ok)
                let presets = try #require(response["presets"] as? [[String: Any]])
                #expect(presets.map { $0["id"] as? String } == ["gmail", "microsoft365", "sendgrid", "mailgun", "aws-ses"])
                #expect(presets.allSatisfy { $0["port"] as? Int == 587 && $0["security"] as? String == "starttls" })
                #expect(presets[2]["username"] as? String == "apikey")
                #expect((presets[4]["host"] as? String)?.contains("{region}") == true)
                #expect((presets[4]["regions"] as? [String])?.contains("eu-west-1") == true)
                #expect((presets[0]["passwordHint"] as? String)?.contains("App Password") == true)
                #expect(try await client.call(.get, "/api/v1/credential-presets", token: nil).status == .unauthorized)
            }
        }
    }
}

@Suite("API: credentials as stored, checked again at use")
struct CredentialLoadTests {
    static let body = #"{"name":"Relay","host":"smtp.example.com","port":587,"username":"u","password":"p-secret"}"#

    @Test("PATCH onto a name another credential has is 409 and changes nothing")
    func renameConflict() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                _ = try await client.call(.post, "/api/v1/credentials", token: token, json: Self.body)
                let other = try await client.call(.post, "/api/v1/credentials", token: token, json: #"{"name":"Other","host":"smtp.example.com"}"#)
                let id = try #require(other["id"] as? String)
                let response = try await client.call(.patch, "/api/v1/credentials/\(id)", token: token, json: #"{"name":"Relay"}"#)
                #expect(response.status == .conflict)
                #expect(response.errorField == "name")
                #expect(try await client.call(.get, "/api/v1/credentials/\(id)", token: token)["name"] as? String == "Other")
            }
        }
    }

    @Test("a stored row edited to port 25 behind the API's back is refused when used")
    func revalidatedAtLoad() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            let store = harness.environment.storage.store
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: Self.body)
                let id = try #require(created["id"] as? String)
                let workspace = try #require(try await store.workspace(named: "Team"))
                var row = try #require(try await store.credential(id: id, workspaceID: workspace.id))
                row.port = 25
                row.version += 1
                #expect(try await store.updateCredential(row))
                let response = try await client.call(.post, "/api/v1/credentials/\(id)/test", token: token)
                #expect(response.status == .unprocessableContent)
                #expect(response.errorField == "port")
                #expect(response.errorMessage == "Port 25 is not allowed")
            }
        }
    }

    @Test("a sealed password copied to another row does not open there: 500 vault_error, nothing revealed")
    func copiedCiphertextFails() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            let store = harness.environment.storage.store
            try await harness.test { client in
                let first = try await client.call(.post, "/api/v1/credentials", token: token, json: Self.body)
                let second = try await client.call(
                    .post, "/api/v1/credentials", token: token,
                    json: #"{"name":"Second","host":"smtp.example.com","username":"v","password":"q-secret"}"#)
                let workspace = try #require(try await store.workspace(named: "Team"))
                let firstID = try #require(first["id"] as? String)
                let secondID = try #require(second["id"] as? String)
                let source = try #require(try await store.credential(id: firstID, workspaceID: workspace.id))
                var target = try #require(try await store.credential(id: secondID, workspaceID: workspace.id))
                target.sealedPassword = source.sealedPassword
                target.version += 1
                #expect(try await store.updateCredential(target))
                let response = try await client.call(.post, "/api/v1/credentials/\(target.id)/test", token: token)
                #expect(response.status == .internalServerError)
                #expect(response.errorCode == "vault_error")
                #expect(!response.text.contains("p-secret"))
            }
        }
    }
}
