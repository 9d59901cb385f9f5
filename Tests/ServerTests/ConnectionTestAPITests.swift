import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOSSL
import Secrets
import Server
import Storage
import TestSupport
import Testing
import Vault
import Workspaces

@Suite("API: test connection against a real TLS SMTP server on loopback")
struct ConnectionTestAPITests {
    /// A STARTTLS server for `localhost` signed by a fresh test CA, accepting alice with `password`.
    static func server(password: String, tls: TLSMode = .startTLS) async throws -> (FakeSMTPServer, TestCertificateAuthority) {
        let authority = try TestCertificateAuthority()
        let configuration = try authority.issueServerIdentity().serverConfiguration()
        var behaviour = FakeSMTPServer.Behaviour()
        switch tls {
        case .startTLS: behaviour.tls = .startTLS(configuration)
        case .none: behaviour.tls = .none
        }
        behaviour.logins = ["alice": password]
        return (try await FakeSMTPServer.start(behaviour), authority)
    }

    enum TLSMode { case startTLS, none }

    /// The credential JSON for the fake server, trusting its CA through `caCertificate`.
    static func credential(port: Int, password: String, authority: TestCertificateAuthority, security: String = "starttls") throws -> String {
        let object: [String: Any] = [
            "name": "Fixture relay", "host": "localhost", "port": port, "security": security,
            "username": "alice", "password": password, "caCertificate": authority.certificatePEM,
            "clientIdentifier": "client.example.com",
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test("a good credential connects, negotiates TLS, authenticates, and sends no mail")
    func success() async throws {
        let (server, authority) = try await Self.server(password: "right-password")
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: try Self.credential(port: server.port, password: "right-password", authority: authority))
                let id = try #require(created["id"] as? String)
                let result = try await client.call(.post, "/api/v1/credentials/\(id)/test", token: token)
                #expect(result.status == .ok)
                #expect(result["ok"] as? Bool == true, "\(result.text)")
                #expect(result["tlsVersion"] as? String == "TLSv1.3")
                #expect((result["capabilities"] as? [String])?.contains("PIPELINING") == true)
                #expect(result.object["error"] == nil || result["error"] is NSNull)
            }
        }
        #expect(server.sessions.first?.tlsActive == true)
        #expect(server.sessions.first?.authenticatedAs == "alice")
        #expect(server.messages.isEmpty)
        #expect(server.sessions.first.map { $0.sent("MAIL") } == false)
        await server.shutdown()
    }

    @Test("a wrong password is EAUTH with the spec's hint")
    func wrongPassword() async throws {
        let (server, authority) = try await Self.server(password: "right-password")
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: try Self.credential(port: server.port, password: "wrong-password", authority: authority))
                let id = try #require(created["id"] as? String)
                let result = try await client.call(.post, "/api/v1/credentials/\(id)/test", token: token)
                #expect(result.status == .ok)
                #expect(result["ok"] as? Bool == false)
                let error = try #require(result["error"] as? [String: Any])
                #expect(error["code"] as? String == "EAUTH")
                #expect((error["hint"] as? String)?.contains("App Password") == true)
                #expect(!result.text.contains("wrong-password"))
            }
        }
        await server.shutdown()
    }

    @Test("a certificate from an unknown CA is ETLS when the CA is not trusted")
    func untrustedCertificate() async throws {
        let (server, _) = try await Self.server(password: "pw")
        let stranger = try TestCertificateAuthority(commonName: "Some other CA")
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: try Self.credential(port: server.port, password: "pw", authority: stranger))
                let id = try #require(created["id"] as? String)
                let result = try await client.call(.post, "/api/v1/credentials/\(id)/test", token: token)
                #expect(result["ok"] as? Bool == false)
                #expect((result["error"] as? [String: Any])?["code"] as? String == "ETLS")
            }
        }
        #expect(server.sessions.first?.authenticatedAs == nil)
        await server.shutdown()
    }

    @Test("a private address outside the operator allowlist is refused before any connection")
    func egressRefused() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.test { client in
                let created = try await client.call(.post, "/api/v1/credentials", token: token, json: #"{"name":"internal","host":"10.1.2.3","port":587}"#)
                let id = try #require(created["id"] as? String)
                let result = try await client.call(.post, "/api/v1/credentials/\(id)/test", token: token)
                #expect(result["ok"] as? Bool == false)
                #expect((result["error"] as? [String: Any])?["code"] as? String == "EPOLICY")
            }
        }
    }
}
