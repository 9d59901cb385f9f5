/// A JSON document as a value: what a webhook body, a step's parameters and a step's output are.
///
/// Numbers have two cases. A literal written without a fraction or an exponent that fits in 64 bits
/// (`3`, `-17`, `9007199254740993`) parses as ``integer(_:)`` so large ids survive exactly and render
/// without a trailing `.0`; every other number is ``number(_:)``. The two cases compare equal when
/// they denote the same value (`.integer(3) == .number(3.0)`), so code that builds values by hand
/// does not have to care which one the parser chose.
///
/// Objects are unordered; wherever order becomes visible (``compactJSON``, ``textValue``) keys are
/// sorted, so the same value always prints the same way.
///
/// ``bytes(_:)`` is the one case JSON text cannot hold: binary data a node produced (an HTTP
/// response body) travelling to a later step of the same execution. It never prints or encodes its
/// content, only a summary (see ``isBinarySummary``).
public enum JSONValue: Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A whole number written without a fraction or an exponent that fits in an `Int64`.
    case integer(Int64)
    /// Any other number; never NaN or infinite when it comes from ``init(parsing:)-(Data)``.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object. Duplicate keys in parsed text keep the last value, as most JSON parsers do.
    case object([String: JSONValue])
    /// Binary data produced by a node, held in memory for later steps of the same execution.
    ///
    /// Equal only to the same bytes. Encoded, printed and inserted into text as the summary
    /// `{"$binary":{"sha256":"…","size":N}}`, never as content; decoding never produces it, so
    /// after a round trip through storage it is gone (see ``isBinarySummary``).
    case bytes([UInt8])
}
