import Foundation

/// Base64url without padding (RFC 4648 §5), decoded strictly: only the URL-safe alphabet, no
/// padding, no whitespace, and zero trailing bits, so every byte string has exactly one spelling.
public enum Base64URL {
    /// The bytes as base64url without padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.last == "=" { text.removeLast() }
        return text
    }

    /// The bytes `text` spells, or `nil` unless it is canonical base64url without padding.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        // Map to the standard alphabet and pad; the round trip below rejects anything that was not
        // canonical base64url to begin with ("+", "/", "=", non-zero trailing bits).
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard standard.utf8.count % 4 != 1 else { return nil }
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: standard) else { return nil }
        let bytes = [UInt8](data)
        return encode(bytes) == text ? bytes : nil
    }
}
