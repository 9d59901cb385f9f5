extension String {
    /// The string with `A`–`Z` mapped to `a`–`z` and every other character untouched: HTTP header
    /// names are ASCII tokens, and a locale- or Unicode-aware lowercasing would be slower and could
    /// fold characters that are not letters of a token.
    func asciiLowercased() -> String {
        guard utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return self }
        return String(decoding: utf8.map { byte in
            byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
        }, as: UTF8.self)
    }
}
