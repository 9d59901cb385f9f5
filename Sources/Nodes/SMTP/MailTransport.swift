public import MIME
public import SMTP
public import SMTPCore

/// Delivers a composed message with a credential's connection settings: the SMTP pool in
/// production, a recording fake in node tests.
public protocol MailTransport: Sendable {
    /// Sends `message`; `dsn` asks for delivery status notifications when the server offers DSN.
    func send(_ message: RenderedMessage, key: PoolKey, configuration: SMTPConfiguration, dsn: DSNRequest?) async throws(SMTPError) -> SMTPSendResult
}

extension SMTPPool: MailTransport {}
