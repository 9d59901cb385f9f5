import Foundation
import HTTPTypes
import HummingbirdTesting
import Server
import Testing

@Suite("API: sending domains and DKIM keys")
struct DomainAPITests {
    @Test("add keys, read the DNS records, rotate, remove: the whole life of a domain, never a private key")
    func lifecycle() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(
                    .post, "/api/v1/domains", token: token, json: #"{"domain":"Example.com","selector":"ph1"}"#)
                #expect(created.status == .created, "\(created.text)")
                let id = try #require(created["id"] as? String)
                #expect(created.headers[.location] == "/api/v1/domains/\(id)")
                #expect(created["domain"] as? String == "example.com")
                let keys = try #require(created["keys"] as? [[String: Any]])
                let record = try #require(keys.first?["dnsRecord"] as? [String: Any])
                #expect(record["name"] as? String == "ph1._domainkey.example.com")
                #expect((record["value"] as? String)?.hasPrefix("v=DKIM1; k=rsa; p=MII") == true)
                #expect((record["strings"] as? [String])?.joined() == record["value"] as? String)
                #expect(keys.first?["active"] as? Bool == true && keys.first?["algorithm"] as? String == "rsa-sha256")
                #expect(!created.text.contains("PRIVATE KEY"))

                // A second RSA key waits inactive; Ed25519 signs beside RSA at once.
                let second = try await client.call(.post, "/api/v1/domains", token: token, json: #"{"domain":"example.com","selector":"ph2"}"#)
                let ed = try await client.call(
                    .post, "/api/v1/domains", token: token, json: #"{"domain":"example.com","selector":"ed1","algorithm":"ed25519-sha256"}"#)
                #expect(second.status == .created && ed.status == .created)
                let three = try #require(ed["keys"] as? [[String: Any]])
                #expect(three.map { $0["selector"] as? String } == ["ph1", "ph2", "ed1"])
                #expect(three.map { $0["active"] as? Bool } == [true, false, true])
                #expect(((three[2]["dnsRecord"] as? [String: Any])?["value"] as? String)?.hasPrefix("v=DKIM1; k=ed25519; p=") == true)

                let taken = try await client.call(.post, "/api/v1/domains", token: token, json: #"{"domain":"example.com","selector":"PH1"}"#)
                #expect(taken.status == .conflict && taken.errorField == "selector")
                let bad = try await client.call(.post, "/api/v1/domains", token: token, json: #"{"domain":"not a domain","selector":"s"}"#)
                #expect(bad.status == .unprocessableContent && bad.errorField == "domain")
                let unknown = try await client.call(.post, "/api/v1/domains", token: token, json: #"{"domain":"example.com","selectr":"s"}"#)
                #expect(unknown.status == .unprocessableContent)

                let ph2 = try #require(three[1]["id"] as? String)
                let activated = try await client.call(.post, "/api/v1/domains/\(id)/keys/\(ph2)/activate", token: token)
                #expect(activated.status == .ok)
                #expect((activated["keys"] as? [[String: Any]])?.map { $0["active"] as? Bool } == [false, true, true])
                let ph1 = try #require(three[0]["id"] as? String)
                let removed = try await client.call(.delete, "/api/v1/domains/\(id)/keys/\(ph1)", token: token)
                #expect((removed["keys"] as? [[String: Any]])?.map { $0["selector"] as? String } == ["ph2", "ed1"])
                #expect(try await client.call(.delete, "/api/v1/domains/\(id)/keys/\(ph1)", token: token).status == .notFound)

                let list = try await client.call(.get, "/api/v1/domains", token: token)
                #expect((list["domains"] as? [[String: Any]])?.count == 1)
                let other = try await harness.workspace("Other")
                #expect(try await client.call(.get, "/api/v1/domains/\(id)", token: other).status == .notFound)
                #expect(((try await client.call(.get, "/api/v1/domains", token: other))["domains"] as? [Any])?.isEmpty == true)

                #expect(try await client.call(.delete, "/api/v1/domains/\(id)", token: token).status == .noContent)
                #expect(try await client.call(.get, "/api/v1/domains/\(id)", token: token).status == .notFound)
            }
        }
    }

    @Test("the recommended SPF record follows the credential picked: Gmail's include for smtp.gmail.com")
    func recommendations() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let gmail = try await client.call(
                    .post, "/api/v1/credentials", token: token,
                    json: #"{"name":"Gmail","host":"smtp.gmail.com","port":587,"username":"team@example.com","password":"app-password-1234"}"#)
                let credentialID = try #require(gmail["id"] as? String)
                let created = try await client.call(.post, "/api/v1/domains", token: token, json: #"{"domain":"example.com","selector":"s1"}"#)
                let id = try #require(created["id"] as? String)
                let plain = try #require((created["recommended"] as? [String: Any])?["spf"] as? [String: Any])
                #expect(plain["value"] as? String == "v=spf1 mx ~all" && plain["credentialId"] is NSNull)
                let dmarc = try #require((created["recommended"] as? [String: Any])?["dmarc"] as? [String: Any])
                #expect(dmarc["name"] as? String == "_dmarc.example.com")
                #expect((dmarc["value"] as? String)?.hasPrefix("v=DMARC1; p=none") == true)

                let picked = try await client.call(.get, "/api/v1/domains/\(id)?credentialId=\(credentialID)", token: token)
                let spf = try #require((picked["recommended"] as? [String: Any])?["spf"] as? [String: Any])
                #expect(spf["value"] as? String == "v=spf1 include:_spf.google.com ~all")
                #expect(spf["credentialId"] as? String == credentialID)
                #expect(try await client.call(.get, "/api/v1/domains/\(id)?credentialId=cred_nope", token: token).status == .notFound)
            }
        }
    }
}
