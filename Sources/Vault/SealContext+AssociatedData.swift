extension SealContext {
    /// The domain label that starts every encoding; a new layout gets a new label.
    static let domainLabel = Array("posthorn.vault.v1".utf8)

    /// The bytes AES-GCM authenticates: ``domainLabel``, then workspace id, credential id and
    /// field, each as a 4-byte big-endian UTF-8 length followed by its UTF-8 bytes.
    ///
    /// Length prefixes make the encoding injective. A separator would not: with `"|"`,
    /// workspace `"a|b"` + credential `"c"` and workspace `"a"` + credential `"b|c"` both encode
    /// as `a|b|c`, and a secret sealed for one would open for the other. With prefixes they are
    /// `3 a|b 1 c` and `1 a 3 b|c`. Because the encoding is self-delimiting, bytes appended after
    /// it (the fingerprint appends the password) cannot shift into a component either.
    var associatedData: [UInt8] {
        var bytes = Self.domainLabel
        for component in [workspaceID, credentialID, field] {
            let utf8 = Array(component.utf8)
            // Traps beyond 4 GiB, which no identifier reaches; clamping would make encodings collide.
            let length = UInt32(utf8.count)
            bytes.append(contentsOf: [
                UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
            ])
            bytes.append(contentsOf: utf8)
        }
        return bytes
    }
}
