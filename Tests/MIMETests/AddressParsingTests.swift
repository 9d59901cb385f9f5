import Testing
@testable import MIME

@Suite("Address grammar")
struct AddressParsingTests {
    struct Accepted: CustomTestStringConvertible, Sendable {
        var input: String
        var expected: [(name: String?, spec: String)]
        var testDescription: String { input }
    }

    static let accepted: [Accepted] = [
        .init(input: "addr@example.com", expected: [(nil, "addr@example.com")]),
        .init(input: "  addr@example.com  ", expected: [(nil, "addr@example.com")]),
        .init(input: "Jane Doe <jane@example.com>", expected: [("Jane Doe", "jane@example.com")]),
        .init(input: "<jane@example.com>", expected: [(nil, "jane@example.com")]),
        .init(input: "\"Doe, Jane\" <jane@example.com>, bob@example.com",
              expected: [("Doe, Jane", "jane@example.com"), (nil, "bob@example.com")]),
        .init(input: "\"Say \\\"hi\\\"\" <a@example.com>", expected: [("Say \"hi\"", "a@example.com")]),
        .init(input: "José Müller <jose@example.com>", expected: [("José Müller", "jose@example.com")]),
        .init(input: "山田太郎 <taro@example.jp>", expected: [("山田太郎", "taro@example.jp")]),
        .init(input: "a@bücher.example", expected: [(nil, "a@xn--bcher-kva.example")]),
        .init(input: "A@EXAMPLE.COM", expected: [(nil, "A@example.com")]),
        .init(input: "first.last+tag@example.com", expected: [(nil, "first.last+tag@example.com")]),
        .init(input: "a@example.com,, b@example.com,", expected: [(nil, "a@example.com"), (nil, "b@example.com")]),
        .init(input: "user@localhost", expected: [(nil, "user@localhost")]),
        .init(input: "!#$%&'*+-/=?^_`{|}~@example.com", expected: [(nil, "!#$%&'*+-/=?^_`{|}~@example.com")]),
        .init(input: "用户@例子.广告", expected: [(nil, "用户@xn--fsqu00a.xn--4rr70v")]),
    ]

    @Test("accepts", arguments: accepted)
    func accepts(_ example: Accepted) throws {
        let parsed = try MailboxAddress.parseList(example.input, field: "to")
        #expect(parsed.map(\.displayName) == example.expected.map(\.name))
        #expect(parsed.map(\.addressSpec) == example.expected.map(\.spec))
    }

    @Test("a non-ASCII local part needs SMTPUTF8, a non-ASCII domain does not")
    func smtputf8Flag() throws {
        #expect(try MailboxAddress.parseList("用户@example.com", field: "to")[0].requiresSMTPUTF8)
        #expect(try !MailboxAddress.parseList("user@例子.广告", field: "to")[0].requiresSMTPUTF8)
    }

    struct Refused: CustomTestStringConvertible, Sendable {
        var input: String
        var rule: EmailValidationError.Rule
        var reason: String
        var testDescription: String { input.debugDescription }
    }

    static let refused: [Refused] = [
        .init(input: "a@example.com (Jane)", rule: .invalidAddress, reason: "comments"),
        .init(input: "Jane (work) <a@example.com>", rule: .invalidAddress, reason: "comments"),
        .init(input: "team: a@example.com, b@example.com;", rule: .invalidAddress, reason: "groups"),
        .init(input: "undisclosed-recipients:;", rule: .invalidAddress, reason: "groups"),
        .init(input: "\"john doe\"@example.com", rule: .invalidAddress, reason: "quoted local parts"),
        .init(input: "a@[127.0.0.1]", rule: .invalidAddress, reason: "address literals"),
        .init(input: "Jane <a@example.com", rule: .invalidAddress, reason: "\"<\" and \">\""),
        .init(input: "Jane a@example.com>", rule: .invalidAddress, reason: "\"<\" and \">\""),
        .init(input: "\"J<ane\" <a@example.com>", rule: .invalidAddress, reason: "\"<\" and \">\""),
        .init(input: "Jane <a@example.com> x", rule: .invalidAddress, reason: "\"<\" and \">\""),
        .init(input: "<<a@example.com>>", rule: .invalidAddress, reason: "\"<\" and \">\""),
        .init(input: "a@example.com\r\nBcc: victim@example.com", rule: .forbiddenCharacters, reason: "forbidden"),
        .init(input: "a@example.com\n", rule: .forbiddenCharacters, reason: "forbidden"),
        .init(input: "Jane\r <a@example.com>", rule: .forbiddenCharacters, reason: "forbidden"),
        .init(input: "a\u{0}@example.com", rule: .forbiddenCharacters, reason: "forbidden"),
        .init(input: "a\u{7}@example.com", rule: .invalidAddress, reason: "control"),
        .init(input: "plainaddress", rule: .invalidAddress, reason: "\"@\""),
        .init(input: "a@b@example.com", rule: .invalidAddress, reason: "exactly one"),
        .init(input: "@example.com", rule: .invalidAddress, reason: "local part is empty"),
        .init(input: "a@", rule: .invalidAddress, reason: "domain"),
        .init(input: ".a@example.com", rule: .invalidAddress, reason: "dots"),
        .init(input: "a..b@example.com", rule: .invalidAddress, reason: "dots"),
        .init(input: "a b@example.com", rule: .invalidAddress, reason: "spaces"),
        .init(input: "a@exa_mple.com", rule: .invalidAddress, reason: "domain"),
        .init(input: "a@-example.com", rule: .invalidAddress, reason: "hyphen"),
        .init(input: "Jane, Doe <a@example.com>", rule: .invalidAddress, reason: "\"@\""),
        .init(input: "Jane@Home <a@example.com>", rule: .invalidAddress, reason: "double quotes"),
        .init(input: "\"Jane <a@example.com>", rule: .invalidAddress, reason: "not closed"),
        .init(input: String(repeating: "a", count: 65) + "@example.com", rule: .invalidAddress, reason: "64"),
        .init(input: "a@" + Array(repeating: String(repeating: "b", count: 60), count: 5).joined(separator: "."),
              rule: .invalidAddress, reason: "longer"),
    ]

    @Test("refuses, naming the field", arguments: refused)
    func refuses(_ example: Refused) {
        #expect {
            _ = try MailboxAddress.parseList(example.input, field: "cc")
        } throws: { error in
            guard let error = error as? EmailValidationError else { return false }
            return error.field == "cc" && error.rule == example.rule && error.message.contains(example.reason)
        }
    }

    @Test("From and Reply-To take one address")
    func singleAddressFields() throws {
        #expect(try MailboxAddress.parseSingle("", field: "replyTo", ruleMessage: "x") == nil)
        #expect(try MailboxAddress.parseSingle("\"A, B\" <a@example.com>", field: "from", ruleMessage: "x")?.displayName == "A, B")
        #expect(throws: EmailValidationError(field: "from", rule: .singleAddressRequired, message: "From must be a single mailbox")) {
            _ = try EmailRequest(from: "a@example.com, b@example.com", to: "c@example.com").validated()
        }
        #expect(throws: EmailValidationError(field: "replyTo", rule: .singleAddressRequired, message: "Reply-To must be a single address")) {
            _ = try EmailRequest(from: "a@example.com", to: "c@example.com", replyTo: "a@example.com, b@example.com").validated()
        }
    }
}
