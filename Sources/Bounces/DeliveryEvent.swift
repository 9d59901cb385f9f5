/// One recipient's fate for one sent message, as an intake reports it: read from a bounce message
/// or from a provider's verified webhook event.
public struct DeliveryEvent: Sendable, Hashable {
    /// What happened; the raw value is what the step's `delivery` records.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case bounced, delayed, delivered, complained

        /// The kind an RFC 3464 action (or an ARF complaint) means.
        public init(_ action: BounceRecipient.Action) {
            switch action {
            case .failed: self = .bounced
            case .delayed: self = .delayed
            case .delivered, .relayed, .expanded: self = .delivered
            case .complained: self = .complained
            }
        }
    }

    /// The Message-ID the event is about (`<id@domain>`).
    public var messageID: String
    public var recipient: String
    public var kind: Kind
    /// The enhanced status code (`5.1.1`), when known.
    public var code: String?
    /// The receiving server's words, at most 1,000 characters.
    public var diagnostic: String?
    /// For a bounce: the receiving side gave up for good (not a soft, retried failure).
    public var permanent: Bool

    public init(messageID: String, recipient: String, kind: Kind, code: String? = nil, diagnostic: String? = nil, permanent: Bool = true) {
        self.messageID = messageID
        self.recipient = recipient
        self.kind = kind
        self.code = code
        self.diagnostic = diagnostic.map { String($0.prefix(1_000)) }
        self.permanent = permanent
    }
}
