/// The values a cron field matches, as a bit set (every field fits in 64 bits), so "the next
/// allowed value at or after x" is one shift and one trailing-zero count.
struct CronValueSet: Sendable, Hashable {
    private(set) var bits: UInt64 = 0

    mutating func insert(_ value: Int) {
        bits |= 1 << UInt64(value)
    }

    func contains(_ value: Int) -> Bool {
        value >= 0 && value < 64 && bits & (1 << UInt64(value)) != 0
    }

    /// The smallest member `>= value`, or `nil`.
    func next(atOrAfter value: Int) -> Int? {
        guard value < 64 else { return nil }
        let remaining = bits >> UInt64(max(value, 0))
        guard remaining != 0 else { return nil }
        return max(value, 0) + remaining.trailingZeroBitCount
    }

    /// The smallest member, or `nil` when empty.
    var first: Int? {
        next(atOrAfter: 0)
    }
}
