public import Foundation

/// A message a flow's step sent: what a bounce about it is matched by (its Message-ID).
public struct SentMessage: Sendable, Hashable {
    /// `<id@domain>`, as the Message-ID header carries it.
    public var messageID: String
    public var workspaceID: String
    public var runID: String
    public var stepID: String
    /// The envelope recipients the server accepted.
    public var recipients: [String]
    public var sentAt: Date

    public init(messageID: String, workspaceID: String, runID: String, stepID: String, recipients: [String], sentAt: Date) {
        self.messageID = messageID
        self.workspaceID = workspaceID
        self.runID = runID
        self.stepID = stepID
        self.recipients = recipients
        self.sentAt = sentAt
    }
}

/// Where sent messages are remembered for bounce matching. SQL in `Storage` (`sent_messages`),
/// ``InMemorySentMessages`` for tests.
public protocol SentMessageStore: Sendable {
    /// Remembers a sent message (a second record of one Message-ID replaces the first).
    func recordSentMessage(_ message: SentMessage) async throws
    /// The sent message with this Message-ID (angle brackets optional, case as sent); `nil` when unknown.
    func sentMessage(messageID: String) async throws -> SentMessage?
}

/// A ``SentMessageStore`` in memory.
public actor InMemorySentMessages: SentMessageStore {
    private var byID: [String: SentMessage] = [:]

    public init() {}

    public func recordSentMessage(_ message: SentMessage) { byID[SentMessage.key(message.messageID)] = message }

    public func sentMessage(messageID: String) -> SentMessage? { byID[SentMessage.key(messageID)] }
}

extension SentMessage {
    /// A Message-ID as stored and looked up: without angle brackets or surrounding space.
    public static func key(_ messageID: String) -> String {
        messageID.trimmingCharacters(in: CharacterSet(charactersIn: "<> \t"))
    }
}
