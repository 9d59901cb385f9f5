import Flows
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Server
import TestSupport
import Testing

@Suite("API: a step's preview")
struct PreviewAPITests {
    /// A manual flow: `greet` echoes the name, `send` mails it with a templated subject, HTML body,
    /// custom header and an attachment.
    static func flow(credentialID: String) -> String {
        #"""
        {"name":"Welcome","trigger":{"type":"manual"},"retry":{"maxAttempts":1},"steps":[
          {"id":"greet","type":"debug.echo","parameters":{"message":"{{trigger.body.name}}"}},
          {"id":"send","type":"smtp.send","parameters":{
            "credential":"\#(credentialID)","from":"Team <team@example.com>","to":"{{trigger.body.email}}",
            "bcc":"audit@example.com","subject":"Hello {{trigger.body.name}}","bodyFormat":"html",
            "htmlBody":"<p>Hi {{steps.greet.output.message}}</p>","body":"Hi {{trigger.body.name}}",
            "headers":[{"name":"X-Campaign","value":"{{trigger.body.tag}}"}],
            "attachments":[{"source":"base64","content":"aGVsbG8=","filename":"hello.txt"}]}}]}
        """#
    }

    @Test("the exact message, composed and sent to no one: headers, bodies, envelope, attachments; upstream outputs from the last run; errors in a run's words")
    func preview() async throws {
        try await APIHarness.run { harness in
            let token = try await harness.workspace("Team")
            try await harness.withEngine(executing: true) {
                try await harness.test { client in
                    let server = try await FakeSMTPServer.start(FakeSMTPServer.Behaviour())
                    defer { Task { await server.shutdown() } }
                    let credential = try await client.call(.post, "/api/v1/credentials", token: token, json: """
                        {"name":"Relay","host":"127.0.0.1","port":\(server.port),"security":"plaintext"}
                        """)
                    let credentialID = try #require(credential["id"] as? String, "\(credential.text)")
                    let flowID = try #require(try await client.call(.post, "/api/v1/flows", token: token, json: Self.flow(credentialID: credentialID))["id"] as? String)
                    let path = "/api/v1/flows/\(flowID)/steps/send/preview"
                    let body = #"{"body":{"name":"Ada","email":"ada@example.com","tag":"spring"}}"#

                    // No run yet: the step above has no output to stand in.
                    let early = try await client.call(.post, path, token: token, json: body)
                    #expect(early.status == .ok, "\(early.text)")
                    #expect(early["upstreamRunId"] is NSNull)
                    let earlyError = try #require(early["error"] as? [String: Any])
                    #expect(earlyError["code"] as? String == "ETEMPLATE")
                    #expect((earlyError["message"] as? String)?.contains("steps.greet") == true, "\(early.text)")

                    // One run records greet's output, and sends.
                    let started = try await client.call(.post, "/api/v1/flows/\(flowID)/runs", token: token, json: #"{"name":"Grace","email":"ada@example.com","tag":"spring"}"#)
                    let runID = try #require(started["runId"] as? String)
                    let finished = try await client.finishedRun(runID, token: token)
                    #expect(finished["status"] as? String == "succeeded", "\(finished.text)")
                    #expect(server.messages.count == 1)

                    let answer = try await client.call(.post, path, token: token, json: body)
                    #expect(answer.status == .ok, "\(answer.text)")
                    #expect(answer["error"] is NSNull, "\(answer.text)")
                    #expect(answer["upstreamRunId"] as? String == runID)
                    let message = try #require(answer["result"] as? [String: Any])
                    let headers = try #require(message["headers"] as? String)
                    #expect(headers.contains("\r\nSubject: Hello Ada\r\n"), "\(headers)")
                    #expect(headers.contains("To: ada@example.com\r\n"))
                    #expect(headers.contains("X-Campaign: spring\r\n"))
                    #expect(!headers.lowercased().contains("bcc"), "Bcc is envelope only")
                    #expect(headers.hasSuffix("\r\n\r\n"))
                    #expect(headers.contains("Message-ID: \(try #require(message["messageId"] as? String))"))
                    // The upstream output is the recorded run's (Grace), the trigger body this preview's.
                    #expect(message["html"] as? String == "<p>Hi Grace</p>")
                    #expect(message["text"] as? String == "Hi Ada")
                    #expect(message["subject"] as? String == "Hello Ada")
                    let envelope = try #require(message["envelope"] as? [String: Any])
                    #expect(envelope["mailFrom"] as? String == "team@example.com")
                    #expect(envelope["recipients"] as? [String] == ["ada@example.com", "audit@example.com"])
                    let attachment = try #require((message["attachments"] as? [[String: Any]])?.first)
                    #expect(attachment["filename"] as? String == "hello.txt")
                    let summary = try #require((attachment["content"] as? [String: Any])?["$binary"] as? [String: Any])
                    #expect(summary["size"] as? Int == 5)
                    #expect(summary["sha256"] as? String == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
                    #expect((message["size"] as? Int ?? 0) > headers.utf8.count)
                    #expect((message["credential"] as? [String: Any])?["name"] as? String == "Relay")

                    // The HTML body, for a sandboxed frame, under its own strict policy.
                    let frameURL = try #require(answer["htmlFrameUrl"] as? String)
                    #expect(frameURL.hasPrefix("/preview-frames/") && frameURL.count == "/preview-frames/".count + 64)
                    let frame = try await client.execute(uri: frameURL, method: .get) { $0 }
                    #expect(frame.status == .ok)
                    #expect(String(buffer: frame.body) == "<p>Hi Grace</p>")
                    #expect(frame.headers[.contentType] == "text/html; charset=utf-8")
                    let policy = try #require(frame.headers[.contentSecurityPolicy])
                    #expect(policy.contains("default-src 'none'") && policy.contains("style-src 'unsafe-inline'"))
                    #expect(policy.contains("sandbox") && policy.contains("frame-ancestors 'self'") && !policy.contains("script-src"))
                    #expect(frame.headers[.cacheControl] == "no-store")
                    let expired = try await client.execute(uri: "/preview-frames/" + String(repeating: "0", count: 64), method: .get) { $0 }
                    #expect(expired.status == .notFound)

                    // The header block is the one a send puts on the wire, but for this preview's own
                    // Date, Message-ID and the boundaries derived from it, and the subject's name.
                    let sent = try #require(server.messages.first)
                    let sentText = String(decoding: sent.data, as: UTF8.self)
                    let blankLine = try #require(sentText.range(of: "\r\n\r\n"))
                    let sentHeaders = String(sentText[..<blankLine.upperBound])
                    func normalized(_ text: String) -> String {
                        text.replacingOccurrences(of: #"(?m)^(Date|Message-ID): .*$"#, with: "$1: …", options: .regularExpression)
                            .replacingOccurrences(of: #"boundary="[^"]+""#, with: #"boundary="…""#, options: .regularExpression)
                            .replacingOccurrences(of: "Grace", with: "Ada")
                    }
                    #expect(normalized(headers) == normalized(sentHeaders), "preview:\n\(headers)\nsent:\n\(sentHeaders)")
                    #expect(server.messages.count == 1, "a preview sends nothing")

                    // A CR/LF from the body is the run's refusal, before anything is sent.
                    let injected = try await client.call(.post, path, token: token, json: #"{"body":{"name":"Ada","email":"ada@example.com","tag":"a\r\nBcc: x@evil.example"}}"#)
                    let refusal = try #require(injected["error"] as? [String: Any])
                    #expect(refusal["code"] as? String == "EMESSAGE")
                    #expect((refusal["message"] as? String)?.contains("Header value contains forbidden characters") == true, "\(injected.text)")
                    let details = refusal["details"] as? [String: Any]
                    #expect(details?["field"] as? String == "headers[0].value")
                    #expect((details?["hint"] as? String)?.contains("Strip newlines from the input variable") == true, "the spec's advice")
                    #expect(injected["result"] is NSNull)

                    // Nothing was stored: the one run is still the only one.
                    let runs = try await client.call(.get, "/api/v1/runs?flowId=\(flowID)", token: token)
                    #expect((runs["items"] as? [Any])?.count == 1)

                    #expect(try await client.call(.post, "/api/v1/flows/\(flowID)/steps/nope/preview", token: token, json: body).status == .notFound)
                    #expect(try await client.call(.post, "/api/v1/flows/flow_nope/steps/send/preview", token: token, json: body).status == .notFound)
                    let notObject = try await client.call(.post, path, token: token, json: #"{"body":[1]}"#)
                    #expect(notObject.status == .unprocessableContent)
                    #expect(notObject.errorField == "body")

                    // A step without a preview of its own shows its rendered parameters.
                    let echo = try await client.call(.post, "/api/v1/flows/\(flowID)/steps/greet/preview", token: token, json: body)
                    #expect((echo["parameters"] as? [String: String]) == ["message": "Ada"])
                    #expect(echo["result"] is NSNull)
                }
            }
        }
    }
}
