import ArgumentParser
import Egress
import Foundation
import Logging
import MIME
import SMTP
import SMTPCore

/// `posthorn bench`: load tools for measuring your own relay.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure how fast Posthorn sends through a relay.",
        subcommands: [BenchSMTPCommand.self]
    )
}

/// `posthorn bench smtp`: like Postfix's `smtp-source`, but every message is composed by the real
/// composer and sent through the real pool.
struct BenchSMTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtp",
        abstract: "Send N messages over K pooled connections and report messages/second and latency.",
        discussion: """
            Each message is composed from scratch (headers, MIME, encodings) and handed to the pool; \
            its latency runs from that hand-over to the server's reply to the final dot. Point it \
            only at a relay you own or a sink such as Postfix's smtp-sink.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "How many messages to send.")
    var messages = 1000

    @Option(help: "How many connections to use.")
    var connections = 1

    @Option(name: .customLong("in-flight"), help: "Messages handed to the pool at once per connection: 2 lets the next envelope ride behind each final dot (RFC 2920 chaining); 1 sends strictly one after another.")
    var inFlight = 2

    @Option(help: "Body size in bytes (ASCII text in 76-character lines).")
    var size = 1024

    @Option(name: .customLong("attachment-size"), help: "Add an attachment of this many random bytes to every message.")
    var attachmentSize = 0

    @Option(help: "Sender address.")
    var from = "bench@example.com"

    @Option(help: "Recipient address.")
    var to = "sink@example.com"

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard messages > 0 else { throw ValidationError("--messages must be at least 1") }
        guard (1...64).contains(connections) else { throw ValidationError("--connections must be between 1 and 64") }
        guard size >= 0, attachmentSize >= 0 else { throw ValidationError("sizes cannot be negative") }
    }

    func run() async throws {
        let configuration: SMTPConfiguration
        let policy: EgressPolicy
        do {
            configuration = try connection.configuration()
            policy = try connection.egressPolicy()
        } catch {
            CommandFailure.exit(with: error)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = connection.logLevel.level
            return handler
        }
        var poolConfiguration = SMTPPool.Configuration()
        poolConfiguration.maximumConnectionsPerKey = connections
        poolConfiguration.maximumMessagesPerConnection = .max
        let pool = SMTPPool(
            configuration: poolConfiguration, egress: EgressGuard(policy: policy), logger: Logger(label: "posthorn.smtp"))
        let key = PoolKey(scope: "bench", version: "1")
        let body = Self.body(size: size)
        let attachment = attachmentSize > 0 ? Self.randomBytes(attachmentSize) : nil
        let request = EmailRequest(
            from: from, to: to, subject: "Posthorn bench", body: body,
            attachments: attachment.map { [EmailAttachment(filename: "bench.bin", content: .bytes($0))] } ?? [])
        let composer = MessageComposer()
        do {
            _ = try request.validated()
        } catch {
            CommandFailure.exit(with: error)
        }

        let counter = BenchCounter(total: messages)
        let clock = ContinuousClock()
        let started = clock.now
        let outcomes = await withTaskGroup(of: Void.self, returning: BenchCounter.Summary.self) { group in
            group.addTask { await pool.run() }
            await withTaskGroup(of: Void.self) { workers in
                for _ in 0..<(connections * max(1, inFlight)) {
                    workers.addTask {
                        while counter.claim() {
                            let sent = clock.now
                            do {
                                let message = composer.compose(try request.validated())
                                let result = try await pool.send(message, key: key, configuration: configuration)
                                counter.record(latency: clock.now - sent, failed: !result.isCompleteDelivery, error: nil)
                            } catch {
                                counter.record(latency: clock.now - sent, failed: true, error: "\(error)")
                            }
                        }
                    }
                }
            }
            let summary = counter.summary(elapsed: clock.now - started)
            await pool.shutdown()
            return summary
        }
        print(json ? outcomes.json : outcomes.table)
        if outcomes.errors > 0 { Foundation.exit(1) }
    }

    /// `size` bytes of printable ASCII in CRLF-terminated lines of at most 76 characters, like the
    /// body `smtp-source -l` sends; such a body goes out as 7bit, unencoded.
    static func body(size: Int) -> String {
        let line = String(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 2).prefix(74))
        var lines: [String] = []
        var remaining = size
        while remaining >= 76 {
            lines.append(line)
            remaining -= 76
        }
        if remaining >= 2 {
            lines.append(String(repeating: "x", count: remaining - 2))
        } else if remaining == 1, !lines.isEmpty {
            lines[lines.count - 1] += "x"
        }
        return lines.map { $0 + "\r\n" }.joined()
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
