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
    /// Remembers several at once, in one commit where the store has commits.
    func recordSentMessages(_ messages: [SentMessage]) async throws
    /// The sent message with this Message-ID (angle brackets optional, case as sent); `nil` when unknown.
    func sentMessage(messageID: String) async throws -> SentMessage?
    /// Forgets messages sent before `cutoff` (their runs are gone with the same retention); returns
    /// how many.
    func deleteSentMessages(before cutoff: Date) async throws -> Int
}

extension SentMessageStore {
    /// One record after another.
    public func recordSentMessages(_ messages: [SentMessage]) async throws {
        for message in messages { try await recordSentMessage(message) }
    }
}

/// A ``SentMessageStore`` in memory.
public actor InMemorySentMessages: SentMessageStore {
    private var byID: [String: SentMessage] = [:]

    public init() {}

    public func recordSentMessage(_ message: SentMessage) { byID[SentMessage.key(message.messageID)] = message }

    public func sentMessage(messageID: String) -> SentMessage? { byID[SentMessage.key(messageID)] }

    public func deleteSentMessages(before cutoff: Date) -> Int {
        let old = byID.filter { $0.value.sentAt < cutoff }.keys
        for key in old { byID[key] = nil }
        return old.count
    }
}

extension SentMessage {
    /// A Message-ID as stored and looked up: without angle brackets or surrounding space.
    public static func key(_ messageID: String) -> String {
        messageID.trimmingCharacters(in: CharacterSet(charactersIn: "<> \t"))
    }
}

/// The ENVID (RFC 3461) a send asks for: the Message-ID without its angle brackets, in xtext, so a
/// delivery status notification that lost the returned headers still names the message.
public enum EnvelopeID {
    /// The ENVID for `messageID`, xtext-encoded (`+`, `=` and what is not printable ASCII as
    /// `+XX`); `nil` when longer than RFC 3461's 100 characters.
    public static func make(messageID: String) -> String? {
        var text = ""
        for byte in SentMessage.key(messageID).utf8 {
            if byte > 0x20 && byte < 0x7F && byte != 0x2B && byte != 0x3D {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += "+" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return text.utf8.count <= 100 ? text : nil
    }

    /// The Message-ID an `Original-Envelope-Id` names (`<…>`), decoding xtext; `nil` when it is
    /// not one Posthorn could have made.
    public static func messageID(from envelopeID: String) -> String? {
        var bytes: [UInt8] = []
        var index = envelopeID.utf8.startIndex
        let utf8 = envelopeID.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == 0x2B {
                let first = utf8.index(after: index)
                guard first < utf8.endIndex, utf8.index(after: first) < utf8.endIndex,
                    let value = UInt8(String(decoding: utf8[first...utf8.index(after: first)], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
                index = utf8.index(first, offsetBy: 2)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("@"), !text.contains(where: { $0 == "<" || $0 == ">" || $0.isWhitespace }) else { return nil }
        return "<\(text)>"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
