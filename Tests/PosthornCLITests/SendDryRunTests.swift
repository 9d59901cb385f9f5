import Foundation
import Testing
import TestSupport

/// Runs the real `posthorn` binary built beside this test bundle.
@Suite("posthorn send --dry-run")
struct SendDryRunTests {
    struct Outcome {
        var status: Int32
        var stdout: [UInt8]
        var stderr: String
    }

    static var executable: URL {
        // The test bundle and the executable are built into the same products directory.
        var directory = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("posthorn").path),
            directory.pathComponents.count > 1
        {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("posthorn")
    }

    static func run(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["send", "--dry-run"] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: Array(stdout), stderr: String(decoding: stderr, as: UTF8.self))
    }

    static let base = ["--from", "Sender <sender@example.com>", "--to", "rcpt@example.com",
                       "--message-id", "<fixed@example.com>", "--date", "2026-11-25T10:00:00Z"]

    @Test("prints the message and nothing else")
    func printsMessage() throws {
        let outcome = try Self.run(Self.base + ["--subject", "Hello", "--body", "Hi there\n", "--priority", "high",
                                                "--header", "X-Campaign: launch", "--bcc", "hidden@example.com"])
        #expect(outcome.status == 0)
        #expect(outcome.stderr.isEmpty)
        let message = ParsedMessage(outcome.stdout)
        #expect(message.values("From") == ["Sender <sender@example.com>"])
        #expect(message.values("Subject") == ["Hello"])
        #expect(message.values("Message-ID") == ["<fixed@example.com>"])
        #expect(message.values("Date") == ["Wed, 25 Nov 2026 10:00:00 +0000"])
        #expect(message.values("X-Priority") == ["1 (Highest)"])
        #expect(message.values("X-Campaign") == ["launch"])
        #expect(message.values("Bcc").isEmpty)
        #expect(message.body == Array("Hi there\r\n".utf8))
    }

    @Test("invalid input exits 1 with one line naming the field and the rule", arguments: [
        (["--subject", "a\r\nBcc: x@example.com"], "subject: Header value contains forbidden characters"),
        (["--header", "Return-Path: <x@example.com>"], "headers[0].name: Reserved header is not allowed"),
        (["--subject", String(repeating: "s", count: 999)], "subject: Subject is longer than 998 characters"),
        (["--reply-to", "a@example.com, b@example.com"], "replyTo: Reply-To must be a single address"),
        (["--cc", "team: a@example.com;"], "cc: Invalid address: groups are not allowed"),
        (["--attach-base64", "a.bin=not base64!"], "attachments[0].content: Content is not valid base64"),
        (["--attach", "/nonexistent/posthorn/file.pdf"], "attachments[0].path: File cannot be read"),
        (["--header", "NoColon"], "headers[0]: Expected 'Name: value'"),
    ])
    func refuses(_ extra: [String], _ expected: String) throws {
        let outcome = try Self.run(Self.base + extra)
        #expect(outcome.status == 1)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr == "error: \(expected)\n")
    }

    @Test("51 headers are refused, 50 accepted")
    func headerLimit() throws {
        let fifty = (1...50).flatMap { ["--header", "X-H\($0): v"] }
        #expect(try Self.run(Self.base + fifty).status == 0)
        let outcome = try Self.run(Self.base + fifty + ["--header", "X-H51: v"])
        #expect(outcome.stderr == "error: headers: At most 50 custom headers are allowed\n")
    }

    @Test("a file attachment is base64 of the file's bytes")
    func attachFile() throws {
        let bytes = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("posthorn-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("report.pdf")
        try Data(bytes).write(to: path)
        let outcome = try Self.run(Self.base + ["--body", "See attached.\n", "--attach", path.path])
        #expect(outcome.status == 0)
        let text = String(decoding: outcome.stdout, as: UTF8.self)
        #expect(text.contains("Content-Type: application/pdf; name=\"\(path.lastPathComponent)\""))
        let encoded = Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        #expect(text.contains("Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"\(path.lastPathComponent)\"\r\n\r\n\(encoded)\r\n--"))
    }
}
