/// A block of addresses written as a network address and a prefix length: `10.0.0.0/8`, `fc00::/7`,
/// `127.0.0.1/32`.
///
/// The network address never has bits set beyond the prefix: `10.0.0.1/8` is refused rather than
/// silently read as `10.0.0.0/8`, because an operator who typed it may have meant `10.0.0.1/32`, and
/// an allowlist is the wrong place to guess.
public struct CIDR: Hashable, Sendable {
    /// The first address of the block; every bit beyond ``prefixLength`` is zero.
    public let network: IPAddress
    /// How many leading bits every address in the block shares: 0–32 for IPv4, 0–128 for IPv6.
    public let prefixLength: Int

    /// Creates a block, or `nil` when the prefix length is out of range for the family or the network
    /// address has bits set beyond it.
    public init?(network: IPAddress, prefixLength: Int) {
        guard (0...network.bitWidth).contains(prefixLength),
              Self.masked(network, prefixLength: prefixLength) == network
        else { return nil }
        self.network = network
        self.prefixLength = prefixLength
    }

    /// The block holding exactly one address: `/32` for IPv4, `/128` for IPv6.
    public init(_ address: IPAddress) {
        self.network = address
        self.prefixLength = address.bitWidth
    }

    /// Whether `address` is inside the block; an address of the other family never is (so
    /// `::ffff:127.0.0.1` is not inside `127.0.0.0/8`).
    public func contains(_ address: IPAddress) -> Bool {
        switch (network, address) {
        case (.v4, .v4), (.v6, .v6):
            return Self.masked(address, prefixLength: prefixLength) == network
        case (.v4, .v6), (.v6, .v4):
            return false
        }
    }

    /// `address` with every bit beyond the first `prefixLength` cleared.
    static func masked(_ address: IPAddress, prefixLength: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            let mask: UInt32 = prefixLength == 0 ? 0 : .max << (32 - prefixLength)
            return .v4(value & mask)
        case .v6(let value):
            let mask: UInt128 = prefixLength == 0 ? 0 : .max << (128 - prefixLength)
            return .v6(value & mask)
        }
    }
}

// MARK: - Text

extension CIDR: CustomStringConvertible {
    /// `network/prefixLength` with the network in canonical form: `10.0.0.0/8`, `fc00::/7`.
    public var description: String { "\(network)/\(prefixLength)" }
}

extension CIDR {
    /// Why a range or an allowlist was refused; ``description`` is one sentence naming the input.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The text that was refused (one range, or the whole allowlist for an empty entry).
        public var input: String
        /// What is wrong with it, e.g. `host bits are set beyond /8; did you mean 10.0.0.0/8?`.
        public var reason: String

        /// Creates an error.
        public init(input: String, reason: String) {
            self.input = input
            self.reason = reason
        }

        /// `"10.0.0.1/8" is not a valid address range: host bits are set beyond /8; …`
        public var description: String {
            "\(input.displayQuoted) is not a valid address range: \(reason)"
        }
    }

    /// Parses `ADDRESS/PREFIX` strictly: the address as ``IPAddress/init(_:)`` accepts it, the prefix
    /// in decimal without a leading zero, and no bits set beyond the prefix. No whitespace is trimmed.
    public init(_ text: String) throws(ParseError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw ParseError(input: text, reason: "expected ADDRESS/PREFIX, e.g. 10.0.0.0/8 or fd00::/8")
        }
        guard let address = IPAddress(String(parts[0])) else {
            throw ParseError(input: text, reason: "\(String(parts[0]).displayQuoted) is not a canonical IPv4 or IPv6 address")
        }
        let width = address.bitWidth
        guard let prefixLength = Self.parsePrefixLength(parts[1]), prefixLength <= width else {
            throw ParseError(input: text, reason: "the prefix length must be a whole number from 0 to \(width)")
        }
        let network = Self.masked(address, prefixLength: prefixLength)
        guard network == address else {
            throw ParseError(
                input: text,
                reason: "host bits are set beyond /\(prefixLength); did you mean \(network)/\(prefixLength) or \(address)/\(width)?"
            )
        }
        self.network = network
        self.prefixLength = prefixLength
    }

    private static func parsePrefixLength(_ text: Substring) -> Int? {
        let bytes = Array(text.utf8)
        guard (1...3).contains(bytes.count), bytes.count == 1 || bytes[0] != UInt8(ascii: "0") else { return nil }
        var value = 0
        for byte in bytes {
            guard let digit = IPAddress.decimalValue(byte) else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// A range from this module's own tables, written as a literal; a typo traps on first use, which
    /// every test run reaches.
    init(known text: String) {
        do {
            try self.init(text)
        } catch {
            preconditionFailure("invalid built-in range \(text): \(error)")
        }
    }
}
