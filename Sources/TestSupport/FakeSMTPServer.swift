import Crypto
import Foundation
public import NIOCore
import NIOPosix
public import NIOSSL
import Synchronization

/// A scriptable SMTP server on loopback for transport tests: real TCP, real TLS (implicit or
/// STARTTLS), real AUTH checks, and faults injected per command.
///
/// Every byte a client sends is recorded per session (after TLS decryption), so a test can prove
/// what did and did not cross the wire: no `AUTH` before TLS, no bare LF, the exact message data.
public final class FakeSMTPServer: Sendable {
    /// How the server behaves; the defaults are a well-behaved submission server.
    public struct Behaviour: Sendable {
        /// How TLS is offered.
        public enum TLS: Sendable {
            case none
            /// TLS from the first byte (port 465).
            case implicit(TLSConfiguration)
            /// STARTTLS offered after EHLO (port 587).
            case startTLS(TLSConfiguration)
        }

        public var tls: TLS = .none
        public var greeting = "220 fake.test ESMTP ready"
        /// EHLO keywords; `STARTTLS` is added before TLS when ``tls`` is `.startTLS`.
        public var capabilities = ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SIZE 10240000", "AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2"]
        /// Keywords announced only before TLS (to prove the client forgets them afterwards).
        public var capabilitiesBeforeTLS: [String] = []
        /// The reply to STARTTLS; anything but 2xx refuses it.
        public var startTLSReply = "220 2.0.0 Ready to start TLS"
        /// Bytes written in the same flight as the STARTTLS 220, in clear text: an injection attack.
        public var injectedAfterStartTLS: String?
        /// Answer MAIL and RCPT only when DATA arrives, as one write: only a client that pipelines
        /// its envelope (RFC 2920) gets any reply.
        public var holdEnvelopeRepliesUntilData = false
        /// Accepted logins: username → password (or XOAUTH2 token).
        public var logins: [String: String] = [:]
        /// Replies to some commands differently; consulted first for every command line and, with
        /// the line `.`, for the end of the message data.
        public var override: (@Sendable (_ line: String, _ session: FakeSMTPSession) -> FakeSMTPResponse?)?

        public init(tls: TLS = .none) {
            self.tls = tls
        }
    }

    private let channel: any Channel
    private let recorder: Recorder

    /// The loopback port the server listens on.
    public let port: Int

    private init(channel: any Channel, recorder: Recorder) {
        self.channel = channel
        self.recorder = recorder
        self.port = channel.localAddress?.port ?? 0
    }

    /// Starts a server on `127.0.0.1` (or `host`) and a free port.
    public static func start(_ behaviour: Behaviour, host: String = "127.0.0.1") async throws -> FakeSMTPServer {
        let recorder = Recorder()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let index = recorder.open()
                    if case .implicit(let configuration) = behaviour.tls {
                        let context = try NIOSSLContext(configuration: configuration)
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        FakeSMTPSessionHandler(behaviour: behaviour, recorder: recorder, index: index))
                }
            }
            .bind(host: host, port: 0).get()
        return FakeSMTPServer(channel: channel, recorder: recorder)
    }

    /// Every session so far, in the order they connected.
    public var sessions: [FakeSMTPSession] { recorder.sessions }

    /// Every message accepted with a 250 after its data, across sessions.
    public var messages: [FakeSMTPMessage] { sessions.flatMap(\.messages) }

    /// Every byte received, across sessions, in clear (after TLS).
    public var receivedText: String { sessions.map { String(decoding: $0.received, as: UTF8.self) }.joined() }

    /// Stops listening and closes every session.
    public func shutdown() async {
        try? await channel.close()
    }
}

/// What the fake server does with one command line.
public enum FakeSMTPResponse: Sendable {
    /// Reply with these lines (`"250-first"`, `"250 last"`), CRLF added.
    case reply([String])
    /// Close the connection without replying.
    case disconnect
    /// Reply normally (as if there were no override), then close the connection: a server that
    /// drops an idle client after this command.
    case replyNormallyThenDisconnect
    /// Say nothing and keep the connection open (for timeout tests).
    case silence

    /// One reply line.
    public static func reply(_ line: String) -> FakeSMTPResponse { .reply([line]) }
}

/// One client connection, as the server saw it.
public struct FakeSMTPSession: Sendable {
    /// Every byte received, in clear (after TLS decryption).
    public var received: [UInt8] = []
    /// Command lines as received (message data excluded; AUTH continuation lines included).
    public var commands: [String] = []
    /// Messages accepted in this session.
    public var messages: [FakeSMTPMessage] = []
    /// Whether TLS is up.
    public var tlsActive = false
    /// The username that logged in.
    public var authenticatedAs: String?
    /// Every AUTH attempt's username, successful or not.
    public var loginAttempts: [String] = []

    /// Whether any command line starts with `verb` (case-insensitive).
    public func sent(_ verb: String) -> Bool {
        commands.contains { $0.uppercased().hasPrefix(verb.uppercased()) }
    }
}

/// A message the server accepted.
public struct FakeSMTPMessage: Sendable {
    public var mailFrom: String
    public var recipients: [String]
    /// The message with dot-stuffing undone, without the terminating `.` line.
    public var data: [UInt8]
    /// The message as it crossed the wire (dot-stuffed), without the terminating `.` line.
    public var wireData: [UInt8]
}

/// The sessions, shared by every connection's handler.
final class Recorder: Sendable {
    private let state = Mutex<[FakeSMTPSession]>([])

    func open() -> Int {
        state.withLock { sessions in
            sessions.append(FakeSMTPSession())
            return sessions.count - 1
        }
    }

    func update(_ index: Int, _ body: (inout FakeSMTPSession) -> Void) {
        state.withLock { body(&$0[index]) }
    }

    func session(_ index: Int) -> FakeSMTPSession {
        state.withLock { $0[index] }
    }

    var sessions: [FakeSMTPSession] { state.withLock { $0 } }
}
