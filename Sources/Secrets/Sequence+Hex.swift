extension Sequence<UInt8> {
    /// Lowercase hex, two digits a byte: how digests of tokens, secrets and bodies are written
    /// (the one spelling of it in the project).
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var utf8: [UInt8] = []
        utf8.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            utf8.append(digits[Int(byte >> 4)])
            utf8.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: utf8, as: UTF8.self)
    }
}
