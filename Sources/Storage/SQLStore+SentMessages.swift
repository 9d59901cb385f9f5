public import Foundation
import SQLKit
public import Workspaces

extension SQLStore: SentMessageStore {
    /// Remembers a sent message (`sent_messages`, keyed by its Message-ID without brackets).
    public func recordSentMessage(_ message: SentMessage) async throws {
        try await recordSentMessages([message])
    }

    /// Remembers several sent messages in one statement (one commit): how
    /// ``GroupCommittedSentMessages`` writes what many sends handed it meanwhile. A Message-ID
    /// given twice keeps its last record.
    public func recordSentMessages(_ messages: [SentMessage]) async throws {
        var latest: [String: SentMessage] = [:]
        var order: [String] = []
        for message in messages {
            let key = SentMessage.key(message.messageID)
            if latest.updateValue(message, forKey: key) == nil { order.append(key) }
        }
        guard !order.isEmpty else { return }
        var rows: [SQLQueryString] = []
        rows.reserveCapacity(order.count)
        for key in order {
            let message = latest[key]!
            let recipients: String
            do {
                recipients = try StoredJSON.text(message.recipients)
            } catch {
                throw StorageError.invalidValue(table: "sent_messages", column: "recipients", rowID: message.messageID)
            }
            rows.append("""
                (\(bind: key), \(bind: message.workspaceID), \(bind: message.runID), \(bind: message.stepID), \(bind: recipients), \(bind: message.sentAt.millisecondsSince1970))
                """)
        }
        try await database.raw("""
            INSERT INTO sent_messages (message_id, workspace_id, run_id, step_id, recipients, sent_at)
            VALUES \(rows.joined(separator: ", "))
            ON CONFLICT (message_id) DO UPDATE SET workspace_id = excluded.workspace_id, run_id = excluded.run_id,
                step_id = excluded.step_id, recipients = excluded.recipients, sent_at = excluded.sent_at
            """).run()
    }

    /// Deletes messages sent before `cutoff` (by the `sent_at` index).
    public func deleteSentMessages(before cutoff: Date) async throws -> Int {
        try await database.raw("""
            DELETE FROM sent_messages WHERE sent_at < \(bind: cutoff.millisecondsSince1970) RETURNING message_id
            """).all().count
    }

    /// The sent message with this Message-ID.
    public func sentMessage(messageID: String) async throws -> SentMessage? {
        try await database.raw("""
            SELECT message_id, workspace_id, run_id, step_id, recipients, sent_at FROM sent_messages
            WHERE message_id = \(bind: SentMessage.key(messageID))
            """).first().map { row throws(StorageError) in
            let stored = StoredRow(row, table: "sent_messages", idColumn: "message_id")
            return SentMessage(
                messageID: "<\(try stored.value("message_id", as: String.self))>", workspaceID: try stored.value("workspace_id"),
                runID: try stored.value("run_id"), stepID: try stored.value("step_id"),
                recipients: try stored.json("recipients", as: [String].self), sentAt: try stored.date("sent_at"))
        }
    }
}
