/// Punycode, the Bootstring encoding of Unicode for IDNA (RFC 3492).
///
/// The encoder and decoder work on one label's code points with no ACE prefix (`xn--`); ``IDNA`` adds and
/// removes the prefix and decides which labels are encoded at all. Both directions follow the algorithms of
/// RFC 3492 section 6 step by step, using the Punycode parameter values of section 5.
///
/// Arithmetic is done in `UInt32`, the width of the RFC's sample implementation (appendix C), and every
/// addition and multiplication that could wrap is checked (section 6.4 "Overflow handling"): an input that
/// would overflow is refused instead of silently decoding to some other string. Mixed-case annotations
/// (appendix A) are neither produced nor reported; decoding accepts digits in either case.
enum Punycode {
    // MARK: Bootstring parameters (RFC 3492 section 5)

    private static let base: UInt32 = 36
    private static let tMin: UInt32 = 1
    private static let tMax: UInt32 = 26
    private static let skew: UInt32 = 38
    private static let damp: UInt32 = 700
    private static let initialBias: UInt32 = 72
    private static let initialN: UInt32 = 0x80
    private static let delimiter = UInt8(ascii: "-")

    // MARK: Encoding (RFC 3492 section 6.3)

    /// Encodes a label's code points as Punycode, without the `xn--` prefix.
    ///
    /// Basic code points (below U+0080) are copied in order, followed by the delimiter `-` when there were
    /// any, followed by the deltas that insert the remaining code points. Digits are written in lowercase.
    ///
    /// - Returns: The encoded label, or `nil` if a delta would overflow 32 bits (only possible for inputs
    ///   far longer than any domain label).
    static func encode(_ input: [Unicode.Scalar]) -> String? {
        // Every count below then fits in UInt32, so the conversions further down cannot trap.
        guard input.count < UInt32.max else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count + 8)

        for scalar in input where scalar.isASCII {
            output.append(UInt8(scalar.value))
        }
        let basicCount = output.count
        if basicCount > 0 {
            output.append(delimiter)
        }

        var n = initialN
        var delta: UInt32 = 0
        var bias = initialBias
        var handled = basicCount

        while handled < input.count {
            // The smallest code point not yet handled; one exists because `handled < input.count`.
            var m = UInt32.max
            for scalar in input where scalar.value >= n && scalar.value < m {
                m = scalar.value
            }

            // Advance the decoder's state from <n, i> to <m, 0>: delta += (m - n) * (h + 1).
            guard
                let step = multiplied(m - n, UInt32(handled + 1)),
                let advanced = added(delta, step)
            else { return nil }
            delta = advanced
            n = m

            for scalar in input {
                if scalar.value < n {
                    guard let incremented = added(delta, 1) else { return nil }
                    delta = incremented
                }
                if scalar.value == n {
                    appendVariableLengthInteger(delta, bias: bias, to: &output)
                    bias = adapt(delta: delta, pointCount: UInt32(handled + 1), isFirst: handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }

            guard let incremented = added(delta, 1) else { return nil }
            delta = incremented
            n += 1  // At most U+10FFFF + 1: m was a code point.
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends `value` as a generalised variable-length integer: little-endian digits whose thresholds
    /// follow the current bias, the last digit being the one below its threshold (section 3.3).
    private static func appendVariableLengthInteger(_ value: UInt32, bias: UInt32, to output: inout [UInt8]) {
        var q = value
        var k = base
        while true {
            let t = threshold(k: k, bias: bias)
            if q < t { break }
            output.append(digitCharacter(t + (q - t) % (base - t)))
            q = (q - t) / (base - t)
            k += base
        }
        output.append(digitCharacter(q))
    }

    // MARK: Decoding (RFC 3492 section 6.2)

    /// Decodes a label's Punycode form (without the `xn--` prefix) to code points.
    ///
    /// - Returns: The decoded code points, or `nil` if the input is not a valid encoding: a non-basic code
    ///   point before the last delimiter, a character that is not a digit after it, a variable-length
    ///   integer cut short, arithmetic overflow, or a decoded value that is basic, a surrogate or above
    ///   U+10FFFF.
    static func decode(_ input: Substring) -> [Unicode.Scalar]? {
        let bytes = Array(input.utf8)

        // Everything before the last delimiter is the literal portion of basic code points. A delimiter
        // at the very start copies nothing and is not consumed, so it then fails as a digit (section 6.2).
        var output: [Unicode.Scalar] = []
        var position = 0
        if let last = bytes.lastIndex(of: delimiter), last > 0 {
            for byte in bytes[..<last] {
                guard byte < 0x80 else { return nil }
                output.append(Unicode.Scalar(byte))
            }
            position = last + 1
        }

        var n = initialN
        var i: UInt32 = 0
        var bias = initialBias

        while position < bytes.count {
            let oldI = i
            var weight: UInt32 = 1
            var k = base
            while true {
                guard position < bytes.count, let digit = digitValue(bytes[position]) else { return nil }
                position += 1

                guard let scaled = multiplied(digit, weight), let sum = added(i, scaled) else { return nil }
                i = sum

                let t = threshold(k: k, bias: bias)
                if digit < t { break }
                guard let nextWeight = multiplied(weight, base - t) else { return nil }
                weight = nextWeight
                k += base
            }

            guard let length = UInt32(exactly: output.count + 1) else { return nil }
            bias = adapt(delta: i - oldI, pointCount: length, isFirst: oldI == 0)
            guard let nextN = added(n, i / length) else { return nil }
            n = nextN
            i %= length

            // The decoder must never insert a basic code point, and the result must be a Unicode scalar.
            guard n >= initialN, let scalar = Unicode.Scalar(n) else { return nil }
            output.insert(scalar, at: Int(i))
            i += 1
        }
        return output
    }

    // MARK: Shared arithmetic (RFC 3492 sections 5, 6.1 and 6.4)

    /// The threshold `t` for digit position `k`: `k - bias`, clamped to `tmin...tmax` (section 6.2).
    private static func threshold(k: UInt32, bias: UInt32) -> UInt32 {
        if k <= bias { return tMin }
        if k >= bias + tMax { return tMax }
        return k - bias
    }

    /// The bias adaptation function of section 6.1: scales the delta down (dividing by `damp` only after
    /// the first delta, which tends to be much larger), then finds the bias that keeps the next delta short.
    private static func adapt(delta: UInt32, pointCount: UInt32, isFirst: Bool) -> UInt32 {
        var delta = isFirst ? delta / damp : delta / 2
        delta += delta / pointCount
        var k: UInt32 = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }

    /// The digit value of a basic code point, `a`–`z` (either case) as 0–25 and `0`–`9` as 26–35 (section 5).
    private static func digitValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(byte - UInt8(ascii: "a"))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0")) + 26
        default: nil
        }
    }

    /// The lowercase basic code point for a digit value in `0..<36`.
    private static func digitCharacter(_ digit: UInt32) -> UInt8 {
        precondition(digit < base, "Punycode digit out of range")
        return digit < 26 ? UInt8(ascii: "a") + UInt8(digit) : UInt8(ascii: "0") + UInt8(digit - 26)
    }

    private static func added(_ lhs: UInt32, _ rhs: UInt32) -> UInt32? {
        let (sum, overflow) = lhs.addingReportingOverflow(rhs)
        return overflow ? nil : sum
    }

    private static func multiplied(_ lhs: UInt32, _ rhs: UInt32) -> UInt32? {
        let (product, overflow) = lhs.multipliedReportingOverflow(by: rhs)
        return overflow ? nil : product
    }
}
