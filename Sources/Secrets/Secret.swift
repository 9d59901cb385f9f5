/// A secret value (password, API key, OAuth token) that never shows itself.
///
/// `description`, `debugDescription`, string interpolation, `dump` and `Mirror` all print
/// `<redacted>`; the only way to the value is ``withRevealedValue(_:)`` (or ``revealedValue`` at
/// the one place that must put it on the wire), which is easy to find in review. Not `Equatable`,
/// so no code compares secrets by accident in non-constant time.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    /// Wraps a secret value.
    public init(_ value: String) {
        self.value = value
    }

    /// Always `<redacted>`.
    public var description: String { "<redacted>" }
    /// Always `<redacted>`.
    public var debugDescription: String { "<redacted>" }
    /// A mirror with no children, so `dump` and reflection-based encoders see nothing.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Whether the secret is the empty string.
    public var isEmpty: Bool { value.isEmpty }

    /// Runs `body` with the value; keep the value inside the closure.
    public func withRevealedValue<Result>(_ body: (String) throws -> Result) rethrows -> Result {
        try body(value)
    }

    /// The value itself, for the single place that must write it (the AUTH exchange).
    public var revealedValue: String { value }
}
