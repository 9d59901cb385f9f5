import Foundation
import Secrets

extension KeyRingFile {
    /// The only document version this code reads and writes.
    static let documentVersion = 1

    /// The JSON shape. Internal, and never printed: ``Entry/key`` is key material.
    struct Document: Codable {
        struct Entry: Codable {
            var id: String
            var key: String
        }

        var version: Int
        var active: String
        var keys: [Entry]
    }

    // MARK: - Encoding

    /// `ring` as a pretty-printed, key-sorted JSON document ending in a newline.
    static func encodeRing(_ ring: KeyRing) throws(KeyFileFailure) -> [UInt8] {
        let document = Document(
            version: documentVersion,
            active: ring.active.id,
            keys: ring.keys.map { Document.Entry(id: $0.id, key: $0.base64Secret.revealedValue) }
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(document)) + [UInt8(ascii: "\n")]
        } catch {
            throw KeyFileFailure("the key ring could not be encoded")
        }
    }

    // MARK: - Decoding

    /// Reads a key ring document, or a single bare base64 key.
    static func decodeRing(from bytes: Data) throws(KeyFileFailure) -> KeyRing {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeyFileFailure("the file is not UTF-8 text")
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw KeyFileFailure("the file is empty") }
        guard trimmed.hasPrefix("{") else {
            do {
                return KeyRing(single: try MasterKey(base64: trimmed))
            } catch {
                throw KeyFileFailure("neither a key ring document nor a single base64 key: \(error.reasonText)")
            }
        }
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: bytes)
        } catch {
            // Decoding errors can quote values; say only that the shape is wrong.
            throw KeyFileFailure("not a valid key ring document (expected version, active and keys)")
        }
        return try ring(from: document)
    }

    private static func ring(from document: Document) throws(KeyFileFailure) -> KeyRing {
        guard document.version == documentVersion else {
            throw KeyFileFailure("unsupported key ring version \(document.version); this build reads version \(documentVersion)")
        }
        guard !document.keys.isEmpty else { throw KeyFileFailure("the key ring holds no keys") }
        var keys: [MasterKey] = []
        for (index, entry) in document.keys.enumerated() {
            let key: MasterKey
            do {
                key = try MasterKey(base64: entry.key)
            } catch {
                throw KeyFileFailure("key #\(index + 1): \(error.reasonText)")
            }
            // File-supplied ids are not echoed: only ids derived from key bytes are known safe to print.
            guard entry.id == key.id else {
                throw KeyFileFailure("key #\(index + 1): the listed id does not match the key (its id is \(key.id))")
            }
            keys.append(key)
        }
        guard keys.contains(where: { $0.id == document.active }) else {
            throw KeyFileFailure("the active id is not one of the listed keys")
        }
        do {
            return try KeyRing(keys: keys, activeID: document.active)
        } catch {
            throw KeyFileFailure(error.reasonText)
        }
    }
}

extension VaultError {
    /// The reason alone, for nesting inside a key file error.
    var reasonText: String {
        switch self {
        case .invalidKey(let reason), .keyFile(_, let reason): reason
        case .unknownKey, .openFailed, .malformed: description
        }
    }
}
