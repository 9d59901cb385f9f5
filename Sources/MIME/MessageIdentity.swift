public import Foundation
import Synchronization

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

extension MessageIdentity {
    /// Tokens derived from `seed` and a counter (FNV-1a, not random), and a fixed clock: the same
    /// request and seed always render the same bytes.
    ///
    /// For a caller that fixes the Message-ID and Date (`posthorn send --message-id … --date …`), so
    /// `--dry-run` prints exactly what a real send delivers, MIME boundaries included. Boundaries need
    /// no randomness to be safe: no encoded part can contain `=_` at the start of a line, which every
    /// boundary starts with.
    public static func reproducible(seed: String, now: Date) -> MessageIdentity {
        let counter = Mutex(UInt64(0))
        return MessageIdentity(
            now: { now },
            token: {
                let index = counter.withLock { value in
                    value += 1
                    return value
                }
                let high = fnv1a(Array(seed.utf8) + [0] + Array(String(index).utf8))
                let low = fnv1a(Array(String(index).utf8) + [0] + Array(seed.utf8))
                return String(high, radix: 36) + String(low, radix: 36)
            }
        )
    }

    private static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
