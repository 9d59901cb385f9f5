import Flows
import Foundation
import MIME
import Nodes
import SMTP
import SMTPCore
import Testing
import TestSupport
import Workspaces

@Suite("smtp.send: parameters, the spec's rules and messages, attachments, results")
struct SendSMTPEmailNodeTests {
    static let base: [String: JSONValue] = [
        "to": "Bob <bob@example.com>, carol@example.com", "from": "Ann <ann@example.com>", "subject": "Quarterly report",
        "body": "Hello Bob.",
    ]

    @Test("a full message: every field lands where it should, Bcc only in the envelope")
    func fullMessage() async throws {
        let harness = try await NodeHarness.make()
        var parameters = Self.base
        parameters["cc"] = "dave@example.com"
        parameters["bcc"] = "hidden@example.com"
        parameters["replyTo"] = "replies@example.com"
        parameters["priority"] = "high"
        parameters["bodyFormat"] = "html"
        parameters["htmlBody"] = "<p>Hello <b>Bob</b></p>"
        parameters["headers"] = [["name": "X-Campaign", "value": "launch"]]
        parameters["inReplyTo"] = "<first@example.com>"
        parameters["references"] = "<zero@example.com> <first@example.com>"
        parameters["listUnsubscribe"] = "https://example.com/u/1"
        let output = try await harness.run(parameters)
        let sent = try #require(harness.transport.sent.first)
        let message = ParsedMessage(sent.bytes)
        #expect(message.values("From") == ["Ann <ann@example.com>"])
        #expect(message.values("To") == ["Bob <bob@example.com>, carol@example.com"])
        #expect(message.values("Cc") == ["dave@example.com"])
        #expect(message.values("Bcc").isEmpty)
        #expect(message.values("Reply-To") == ["replies@example.com"])
        #expect(message.values("X-Priority") == ["1 (Highest)"])
        #expect(message.values("Importance") == ["High"])
        #expect(message.values("X-Campaign") == ["launch"])
        #expect(message.values("In-Reply-To") == ["<first@example.com>"])
        #expect(message.values("References") == ["<zero@example.com> <first@example.com>"])
        #expect(message.values("List-Unsubscribe") == ["<https://example.com/u/1>"])
        #expect(message.values("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"])
        #expect(sent.envelope.recipients.contains("hidden@example.com"))
        #expect(sent.host == "smtp.example.com")
        #expect(sent.key == harness.relay.poolKey)
        #expect(output[path: [.key("accepted")]] == .array(sent.envelope.recipients.map(JSONValue.string)))
        #expect(output[path: [.key("messageId")]]?.textValue.hasSuffix("@example.com>") == true)
        #expect(output[path: [.key("rejected")]] == .array([]))
        // Every output path the descriptor declares (what the studio suggests) is in a real output.
        for field in harness.node.descriptor.outputs {
            #expect(output[path: field.path.split(separator: ".").map { .key(String($0)) }] != nil, "\(field.path)")
        }
    }

    @Test("every rule fails before any network I/O, with the spec's words and the field", arguments: [
        (["subject": "Hi\r\nBcc: evil@example.com"], "subject: Header value contains forbidden characters"),
        (["to": "bob@example.com\nX-Evil: 1"], "to: Header value contains forbidden characters"),
        (["headers": [["name": "Return-Path", "value": "<x@example.com>"]]], "headers[0].name: Reserved header is not allowed"),
        (["headers": [["name": "dkim-signature", "value": "x"]]], "headers[0].name: Reserved header is not allowed"),
        (["headers": [["name": "X-Ok", "value": "a\r\nb"]]], "headers[0].value: Header value contains forbidden characters"),
        (["subject": .string(String(repeating: "s", count: 999))], "subject: Subject is longer than 998 characters"),
        (["from": "a@example.com, b@example.com"], "from: From must be a single mailbox"),
        (["replyTo": "a@example.com, b@example.com"], "replyTo: Reply-To must be a single address"),
        (["to": ""], "to: to is required"),
        (["bodyFormat": "markdown"], "bodyFormat: Body format must be text or html"),
        (["priority": "urgent"], "priority: Priority must be low, normal or high"),
        (["headers": .array((0...50).map { ["name": .string("X-H\($0)"), "value": "v"] })], "headers: "),
        (["attachments": [["source": "base64", "content": "not base64!", "filename": "a.bin"]]], "attachments[0].content: Content is not valid base64"),
        (["attachments": [["source": "file", "url": "/etc/passwd"]]], "attachments[0].source: Source must be url, base64 or buffer"),
        (["attachments": [["source": "base64", "content": "aGk=", "inline": true]]], "attachments[0].contentId: An inline attachment needs a contentId"),
    ] as [([String: JSONValue], String)])
    func rules(overrides: [String: JSONValue], message: String) async throws {
        let harness = try await NodeHarness.make()
        let error = await harness.failure(Self.base.merging(overrides) { $1 })
        #expect(error?.code == "EMESSAGE")
        #expect(error?.disposition == .permanent)
        #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error))")
        #expect(harness.transport.sent.isEmpty)
    }

    @Test("a body over 10 MB is refused by the spec's limit")
    func bodyLimit() async throws {
        let harness = try await NodeHarness.make()
        let error = await harness.failure(Self.base.merging(["body": .string(String(repeating: "x", count: 10_000_001))]) { $1 })
        #expect(error?.message.hasPrefix("body:") == true)
        #expect(harness.transport.sent.isEmpty)
    }

    @Test("another workspace's credential is not found; the credential is checked again at load")
    func credentialScope() async throws {
        let harness = try await NodeHarness.make()
        let error = await harness.failure(Self.base.merging(["credential": .string(harness.otherWorkspacesRelay.id)]) { $1 })
        #expect(error?.code == "ECREDENTIAL")
        #expect(error?.message == "credential: Credential not found")
        var row = harness.relay
        row.port = 25
        row.version += 1
        #expect(try await harness.store.updateCredential(row))
        let port25 = await harness.failure(Self.base)
        #expect(port25?.message == "credential: port: Port 25 is not allowed")
        #expect(harness.transport.sent.isEmpty)
    }

    @Test("without From, the credential's login is the sender")
    func defaultFrom() async throws {
        let harness = try await NodeHarness.make()
        var parameters = Self.base
        parameters["from"] = nil
        _ = try await harness.run(parameters)
        #expect(ParsedMessage(try #require(harness.transport.sent.first).bytes).values("From") == ["sender@example.com"])
    }

    @Test("attachments from base64, upstream bytes and a URL, byte for byte, names and types from the parameter or the response")
    func attachments() async throws {
        let pdf: [UInt8] = Array("%PDF-1.7 fake".utf8) + [0, 255, 1, 254]
        let fetcher = FakeFetcher(["https://files.example.com/r/report": .success(FetchedResource(
            status: 200, headers: [:], body: pdf, contentType: "application/pdf", filename: "report.pdf"))])
        let harness = try await NodeHarness.make(fetcher: fetcher)
        let bytes: [UInt8] = (0..<300).map { UInt8($0 % 256) }
        var parameters = Self.base
        parameters["attachments"] = [
            ["source": "base64", "content": .string(Data("hello".utf8).base64EncodedString()), "filename": "hello.txt"],
            ["source": "buffer", "content": .bytes(bytes), "filename": "data.bin"],
            ["source": "url", "url": "https://files.example.com/r/report"],
        ]
        _ = try await harness.run(parameters)
        let raw = String(decoding: try #require(harness.transport.sent.first).bytes, as: UTF8.self)
        #expect(raw.contains("filename=hello.txt") || raw.contains("filename=\"hello.txt\""))
        #expect(raw.contains("report.pdf"))
        #expect(raw.contains("application/pdf"))
        #expect(raw.contains(Data(bytes).base64EncodedString().prefix(60)))
        #expect(raw.contains(Data(pdf).base64EncodedString()))
        #expect(fetcher.requests.first?.byteLimit == 25_000_000 - 5 - 300)
    }

    @Test("attachments are capped in total, and a refused URL names the attachment")
    func attachmentLimits() async throws {
        let fetcher = FakeFetcher([
            "https://files.example.com/big": .success(FetchedResource(status: 200, headers: [:], body: [UInt8](repeating: 1, count: 600), contentType: nil, filename: nil)),
            "https://files.example.com/moved": .failure(NodeError(code: "EREDIRECT", message: "attachments[0].url: redirects are not followed (302)", disposition: .permanent)),
        ])
        let harness = try await NodeHarness.make(fetcher: fetcher, attachmentLimit: 1000)
        var parameters = Self.base
        parameters["attachments"] = [["source": "base64", "content": .string(Data([UInt8](repeating: 2, count: 500)).base64EncodedString())],
                                     ["source": "url", "url": "https://files.example.com/big"]]
        #expect(await harness.failure(parameters)?.code == "ETOOLARGE")
        parameters["attachments"] = [["source": "url", "url": "https://files.example.com/moved"]]
        let refused = await harness.failure(parameters)
        #expect(refused?.code == "EREDIRECT")
        #expect(refused?.message.hasPrefix("attachments[0].url") == true)
        #expect(harness.transport.sent.isEmpty)
    }

    @Test("SMTP failures keep their code and disposition and carry the spec's hint", arguments: [
        (SMTPError(.auth, .permanent, "the server refused the login", reply: SMTPReply(535, "5.7.8 Bad credentials")), "EAUTH", NodeError.Disposition.permanent, "App Password"),
        (SMTPError(.connection, .ambiguous, "the connection closed after the message was sent"), "ECONNECTION", .ambiguous, "firewall"),
        (SMTPError(.timeout, .transient, "the server did not answer in time"), "ETIMEDOUT", .transient, "firewall"),
        (SMTPError(.tls, .permanent, "certificate verify failed"), "ETLS", .permanent, "Accept unverified certificates"),
    ])
    func smtpFailures(error: SMTPError, code: String, disposition: NodeError.Disposition, hint: String) async throws {
        let harness = try await NodeHarness.make(.fail(error))
        let failure = await harness.failure(Self.base)
        #expect(failure?.code == code)
        #expect(failure?.disposition == disposition)
        guard case .object(let details)? = failure?.details, case .string(let text)? = details["hint"] else {
            Issue.record("no hint in \(String(describing: failure))")
            return
        }
        #expect(text.contains(hint))
        #expect(!"\(String(describing: failure))".contains("pw-canary"))
    }

    @Test("a partly refused envelope fails the step unless partial delivery is allowed; the rejected are listed")
    func partialDelivery() async throws {
        let harness = try await NodeHarness.make(.reject(["carol@example.com": 550]))
        let failure = await harness.failure(Self.base)
        #expect(failure?.code == "EENVELOPE")
        #expect(failure?.disposition == .permanent, "never retried: Bob already has the message")
        let allowed = try await harness.run(Self.base.merging(["allowPartialDelivery": true]) { $1 })
        guard case .array(let rejected)? = allowed[path: [.key("rejected")]] else { Issue.record("no rejected list"); return }
        #expect(rejected.first?[path: [.key("address")]] == "carol@example.com")
        #expect(rejected.first?[path: [.key("code")]] == 550)
    }

    // MARK: - Order: every rule before any network I/O

    static let urlAttachment: JSONValue = ["source": "url", "url": "https://files.example.com/r/report"]
    static let reportFetcherTable: [String: Result<FetchedResource, NodeError>] = [
        "https://files.example.com/r/report": .success(FetchedResource(
            status: 200, headers: [:], body: Array("%PDF".utf8), contentType: "application/pdf", filename: "report.pdf")),
    ]

    @Test("a broken rule fails before a URL attachment is fetched", arguments: [
        (["subject": "Hi\r\nBcc: evil@example.com"], "EMESSAGE", "subject: Header value contains forbidden characters"),
        (["to": "bob@example.com\nX-Evil: 1"], "EMESSAGE", "to: Header value contains forbidden characters"),
        (["headers": [["name": "Return-Path", "value": "<x@example.com>"]]], "EMESSAGE", "headers[0].name: Reserved header is not allowed"),
        (["attachments": [urlAttachment, ["source": "base64", "content": "not base64!"]]], "EMESSAGE",
         "attachments[1].content: Content is not valid base64"),
        (["attachments": [urlAttachment, ["source": "url", "url": "file:///etc/passwd"]]], "EURL", "attachments[1].url: "),
        (["attachments": [["source": "url", "url": "https://files.example.com/r/report", "filename": "a\r\nb.pdf"]]], "EMESSAGE",
         "attachments[0].filename: Header value contains forbidden characters"),
        (["attachments": [["source": "url", "url": "https://files.example.com/r/report", "contentType": "pdf"]]], "EMESSAGE",
         "attachments[0].contentType: "),
        (["attachments": [["source": "url", "url": "https://files.example.com/r/report", "inline": true, "contentId": "a b"]]],
         "EMESSAGE", "attachments[0].contentId: "),
        (["attachments": [["source": "base64", "content": "aGk=", "inline": "true", "contentId": "logo"],
                          ["source": "url", "url": "https://files.example.com/r/report", "inline": "true", "contentId": "logo"]]],
         "EMESSAGE", "attachments[1].contentId: Content-ID is used twice"),
    ] as [([String: JSONValue], String, String)])
    func rulesBeforeFetching(overrides: [String: JSONValue], code: String, message: String) async throws {
        let fetcher = FakeFetcher(Self.reportFetcherTable)
        let harness = try await NodeHarness.make(fetcher: fetcher)
        var parameters = Self.base.merging(overrides) { $1 }
        if parameters["attachments"] == nil { parameters["attachments"] = [Self.urlAttachment] }
        let error = await harness.failure(parameters)
        #expect(error?.code == code)
        #expect(error?.disposition == .permanent)
        #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error))")
        #expect(fetcher.requests.isEmpty)
        #expect(harness.transport.sent.isEmpty)
    }

    @Test("a foreign or no longer valid credential fails before a URL attachment is fetched")
    func credentialBeforeFetching() async throws {
        let fetcher = FakeFetcher(Self.reportFetcherTable)
        let harness = try await NodeHarness.make(fetcher: fetcher)
        var parameters = Self.base
        parameters["attachments"] = [Self.urlAttachment]
        parameters["credential"] = .string(harness.otherWorkspacesRelay.id)
        let foreign = await harness.failure(parameters)
        #expect(foreign?.code == "ECREDENTIAL")
        #expect(foreign?.message == "credential: Credential not found")

        parameters["credential"] = nil
        var row = harness.relay
        row.port = 25
        row.version += 1
        #expect(try await harness.store.updateCredential(row))
        let port25 = await harness.failure(parameters)
        #expect(port25?.message == "credential: port: Port 25 is not allowed")
        #expect(fetcher.requests.isEmpty)
        #expect(harness.transport.sent.isEmpty)
    }

    @Test("the complete message is checked again after fetching: a file name from the response must pass the rules too")
    func rulesAfterFetching() async throws {
        let fetcher = FakeFetcher(["https://files.example.com/r/report": .success(FetchedResource(
            status: 200, headers: [:], body: [1, 2, 3], contentType: nil, filename: "bad\u{7}name.pdf"))])
        let harness = try await NodeHarness.make(fetcher: fetcher)
        let error = await harness.failure(Self.base.merging(["attachments": [Self.urlAttachment]]) { $1 })
        #expect(error?.code == "EMESSAGE")
        #expect(error?.message == "attachments[0].filename: File name contains control characters")
        #expect(fetcher.requests.count == 1)
        #expect(harness.transport.sent.isEmpty)
    }

    @Test("local attachments over the cap fail before any URL is fetched")
    func localTotalBeforeFetching() async throws {
        let fetcher = FakeFetcher(Self.reportFetcherTable)
        let harness = try await NodeHarness.make(fetcher: fetcher, attachmentLimit: 100)
        let error = await harness.failure(Self.base.merging(["attachments": [
            Self.urlAttachment, ["source": "buffer", "content": .bytes([UInt8](repeating: 0, count: 101))],
        ]]) { $1 })
        #expect(error?.code == "ETOOLARGE")
        #expect(error?.message == "attachments[1]: attachments exceed 100 bytes in all")
        #expect(fetcher.requests.isEmpty)
    }

    // MARK: - Empty URL attachments

    @Test("a URL attachment with no content (204, 205 or an empty body) is EEMPTY naming the attachment", arguments: [
        (204, [UInt8]()), (205, []), (200, []),
    ])
    func emptyURLAttachment(status: Int, body: [UInt8]) async throws {
        let fetcher = FakeFetcher(["https://files.example.com/empty": .success(FetchedResource(
            status: status, headers: [:], body: body, contentType: nil, filename: "empty"))])
        let harness = try await NodeHarness.make(fetcher: fetcher)
        var parameters = Self.base
        parameters["attachments"] = [
            ["source": "base64", "content": "aGk="], ["source": "url", "url": "https://files.example.com/empty"],
        ]
        let error = await harness.failure(parameters)
        #expect(error?.code == "EEMPTY")
        #expect(error?.disposition == .permanent)
        #expect(error?.message == "attachments[1].url: the server returned no content")
        #expect(error?.details == ["status": .integer(Int64(status))])
        #expect(harness.transport.sent.isEmpty)
    }

    // MARK: - Booleans from templates

    @Test("inline takes true/false or the text a template renders them to", arguments: [
        (JSONValue.bool(true), true), (.string("true"), true), (.bool(false), false), (.string("false"), false),
        (.string(""), false), (.null, false),
    ])
    func inlineFlag(value: JSONValue, inline: Bool) async throws {
        let harness = try await NodeHarness.make()
        var parameters = Self.base
        parameters["bodyFormat"] = "html"
        parameters["htmlBody"] = "<img src=\"cid:logo\">"
        parameters["attachments"] = [
            ["source": "base64", "content": "iVBORw0K", "filename": "logo.png", "inline": value, "contentId": "logo"],
        ]
        _ = try await harness.run(parameters)
        let raw = String(decoding: try #require(harness.transport.sent.first).bytes, as: UTF8.self)
        #expect(raw.contains("Content-ID: <logo>") == inline)
        #expect(raw.contains("multipart/related") == inline)
    }

    @Test("any other inline value is refused, naming the field", arguments: [JSONValue.string("yes"), .integer(1), .string("TRUE")])
    func inlineRefused(value: JSONValue) async throws {
        let harness = try await NodeHarness.make()
        let error = await harness.failure(Self.base.merging(["attachments": [
            ["source": "base64", "content": "aGk=", "inline": value, "contentId": "logo"],
        ]]) { $1 })
        #expect(error?.code == "EMESSAGE")
        #expect(error?.message == "attachments[0].inline: Must be true or false")
    }

    // MARK: - Form

    @Test("the node's form follows the spec's parameter reference")
    func descriptor() async throws {
        let harness = try await NodeHarness.make()
        let descriptor = harness.node.descriptor
        #expect(descriptor.type == "smtp.send")
        #expect(descriptor.label == "Send SMTP Email")
        #expect(descriptor.parameters.map(\.name) == [
            "credential", "to", "from", "cc", "bcc", "replyTo", "subject", "bodyFormat", "body", "htmlBody", "priority",
            "inReplyTo", "references", "listUnsubscribe", "dkimDomain", "headers", "attachments", "allowPartialDelivery", "ignoreSuppression",
        ])
        let byName = Dictionary(uniqueKeysWithValues: descriptor.parameters.map { ($0.name, $0) })
        #expect(byName["bcc"]?.help == "Same syntax as To. Hidden in delivered headers.")
        #expect(byName["credential"]?.kind == .credential)
        #expect(!descriptor.isIdempotent)
        #expect(descriptor.defaultOnError == .stop)

        for name in ["to", "cc", "bcc", "from", "replyTo"] {
            #expect(byName[name]?.insertionForbids == Set(",;<>\":\\\r\n\0".unicodeScalars), "\(name)")
        }
        for name in ["subject", "body", "htmlBody", "headers", "attachments", "credential"] {
            #expect(byName[name]?.insertionForbids == nil, "\(name)")
        }

        let headerFields = try #require(byName["headers"]?.itemFields)
        #expect(headerFields.map(\.name) == ["name", "value"])
        #expect(headerFields.map(\.label) == ["Name", "Value"])
        #expect(headerFields.first?.required == true)

        let attachmentFields = try #require(byName["attachments"]?.itemFields)
        #expect(attachmentFields.map(\.name) == ["source", "url", "content", "filename", "contentType", "inline", "contentId"])
        let attachmentField = Dictionary(uniqueKeysWithValues: attachmentFields.map { ($0.name, $0) })
        #expect(attachmentField["source"]?.kind == .options)
        #expect(attachmentField["source"]?.options == ["url", "base64", "buffer"])
        #expect(attachmentField["source"]?.required == true)
        #expect(attachmentField["inline"]?.kind == .boolean)
        #expect(attachmentField["inline"]?.defaultValue == false)
        #expect(attachmentFields.allSatisfy { !$0.label.isEmpty && $0.help?.isEmpty == false })
        #expect(headerFields.allSatisfy { $0.help?.isEmpty == false })
        #expect(byName["subject"]?.itemFields == nil)
    }

    @Test("the attachment cap is the node's setting (the server passes its flag)")
    func attachmentLimitSetting() async throws {
        let fetcher = FakeFetcher(Self.reportFetcherTable)
        let harness = try await NodeHarness.make(fetcher: fetcher, attachmentLimit: 10)
        _ = try await harness.run(Self.base.merging(["attachments": [Self.urlAttachment]]) { $1 })
        #expect(fetcher.requests.first?.byteLimit == 10)
        #expect(SendSMTPEmailNode.defaultAttachmentLimit == 25_000_000)
    }
}
