public import Foundation

/// The sources of everything in a message that is not given by the request: the time for the Date
/// header and random tokens for the Message-ID and MIME boundaries. Injected, so tests render
/// byte-for-byte reproducible messages.
public struct MessageIdentity: Sendable {
    /// The current time.
    public var now: @Sendable () -> Date
    /// A fresh token of letters and digits, unique with overwhelming probability.
    public var token: @Sendable () -> String

    /// Creates an identity source from a clock and a token generator.
    public init(now: @escaping @Sendable () -> Date, token: @escaping @Sendable () -> String) {
        self.now = now
        self.token = token
    }

    /// The wall clock and 128 bits from the system's secure random generator.
    public static let system = MessageIdentity(
        now: { Date() },
        token: {
            var generator = SystemRandomNumberGenerator()
            let high = generator.next() as UInt64
            let low = generator.next() as UInt64
            return String(high, radix: 36) + String(low, radix: 36)
        }
    )
}
