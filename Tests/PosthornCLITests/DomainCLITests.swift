import Foundation
import NIOSSL
import Testing
import TestSupport

/// `posthorn domain …` on a data directory, and `send --credential` signing with what it made.
@Suite("posthorn domain and signed sends with a stored credential")
struct DomainCLITests {
    typealias Scratch = CredentialCLITests.Scratch

    @Test("keys made by the CLI sign send --credential, survive key rotation, and are removed by it; no private key in the data")
    func lifecycle() async throws {
        let authority = try TestCertificateAuthority()
        var behaviour = FakeSMTPServer.Behaviour(tls: .startTLS(try authority.issueServerIdentity().serverConfiguration()))
        behaviour.logins = ["alice": CredentialCLITests.password]
        let server = try await FakeSMTPServer.start(behaviour)
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(at: scratch.directory) }
        let caFile = try scratch.write(authority.certificatePEM, to: "ca.pem")
        let allow = ["--allow-private-egress", "127.0.0.1/32"]
        #expect(try scratch.run(["workspace", "create", "Team"]).status == 0)
        let added = try scratch.run([
            "credential", "add", "--workspace", "Team", "--name", "Relay", "--host", "127.0.0.1", "--port", "\(server.port)",
            "--username", "alice", "--password-env", "RELAY_PASSWORD", "--ca-file", caFile, "--ehlo-name", "client.example.com",
        ], environment: ["RELAY_PASSWORD": CredentialCLITests.password])
        #expect(added.status == 0, "\(added.stderr)")

        let rsa = try scratch.run(["domain", "add", "--workspace", "Team", "--domain", "example.com", "--selector", "cli-rsa"])
        #expect(rsa.status == 0, "\(rsa.stderr)")
        #expect((rsa.json["keys"] as? [[String: Any]])?.first?["active"] as? Bool == true)
        let ed = try scratch.run([
            "domain", "add", "--workspace", "Team", "--domain", "example.com", "--selector", "cli-ed", "--algorithm", "ed25519-sha256",
        ])
        #expect(ed.status == 0, "\(ed.stderr)")
        let refused = try scratch.run(["domain", "add", "--workspace", "Team", "--domain", "example.com", "--selector", "bad_one"])
        #expect(refused.status == 1 && refused.stderr.contains("selector:"))

        func send() throws -> [[String: Any]] {
            let sent = try scratch.run([
                "send", "--credential", "Relay", "--workspace", "Team", "--from", "ann@example.com", "--to", "bob@example.com",
                "--subject", "Signed", "--body", "Hello", "--json",
            ] + allow)
            #expect(sent.status == 0, "\(sent.stdout) \(sent.stderr)")
            return sent.json["dkim"] as? [[String: Any]] ?? []
        }
        #expect(try send().map { $0["selector"] as? String } == ["cli-rsa", "cli-ed"])
        let received = String(decoding: server.messages.last?.data ?? [], as: UTF8.self)
        #expect(received.components(separatedBy: "DKIM-Signature:").count - 1 == 2)

        let rotated = try scratch.run(["key", "rotate"])
        #expect(rotated.stdout.contains("\"resealedSecrets\" : 3"), "the password and both private keys: \(rotated.stdout)")
        #expect(try send().count == 2, "the keys open under the new master key")

        let removed = try scratch.run(["domain", "remove-key", "example.com", "cli-rsa", "--workspace", "Team"])
        #expect((removed.json["keys"] as? [[String: Any]])?.map { $0["selector"] as? String } == ["cli-ed"])
        #expect(!scratch.dataBytes.contains("PRIVATE KEY".utf8))
        #expect(try scratch.run(["domain", "delete", "example.com", "--workspace", "Team"]).status == 0)
        #expect(try scratch.run(["domain", "show", "example.com", "--workspace", "Team"]).status == 1)
        #expect(try send().isEmpty, "no domain, no signature")
        await server.shutdown()
    }
}
