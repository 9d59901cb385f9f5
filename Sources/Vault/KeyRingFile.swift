public import Foundation

/// The key ring on disk.
///
/// A JSON document, written with sorted keys:
///
/// ```json
/// {"active": "k…", "keys": [{"id": "k…", "key": "<base64>"}], "version": 1}
/// ```
///
/// Loading also accepts a file holding one bare base64 key (a docker secret, or
/// `openssl rand -base64 32 > key`), read as a ring of that key alone.
public enum KeyRingFile {
    /// Reads the key ring at `url`: a key ring document or a single base64 key.
    ///
    /// Every key's stated id must match the id derived from its bytes, so a hand-edited file
    /// cannot label one key with another's id.
    ///
    /// - Throws: ``VaultError/keyFile(path:reason:)``; reasons never quote the file's contents.
    public static func load(from url: URL) throws(VaultError) -> KeyRing {
        let path = try filePath(of: url)
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url)
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            throw .keyFile(path: path, reason: "the file does not exist")
        } catch let error as CocoaError where error.code == .fileReadNoPermission {
            throw .keyFile(path: path, reason: "permission denied")
        } catch {
            throw .keyFile(path: path, reason: "the file could not be read")
        }
        do {
            return try decodeRing(from: bytes)
        } catch let reason {
            throw .keyFile(path: path, reason: reason.text)
        }
    }

    /// Writes `ring` to `url`, replacing any file there atomically.
    ///
    /// The document goes to a new temporary file in the same directory, created with mode 0600
    /// (and set to exactly 0600 before a key byte is written, whatever the umask), flushed, and
    /// renamed over `url`: a reader sees the old ring or the new one, never a torn or
    /// world-readable file. The directory must exist.
    ///
    /// - Throws: ``VaultError/keyFile(path:reason:)``.
    public static func write(_ ring: KeyRing, to url: URL) throws(VaultError) {
        let path = try filePath(of: url)
        do {
            _ = try PrivateFileWriter.writeFile(encodeRing(ring), toPath: path, disposition: .replaceExisting)
        } catch let reason {
            throw .keyFile(path: path, reason: reason.text)
        }
    }

    /// Loads the ring at `url`, or, if there is no file, generates a one-key ring and writes it.
    ///
    /// Creation is exclusive: the new file is linked into place only if nothing is there, so two
    /// processes starting together on an empty directory end up with the same key (the loser
    /// loads the winner's file) rather than each sealing with a key the other overwrote.
    ///
    /// - Returns: the ring, and whether this call created the file.
    /// - Throws: ``VaultError/keyFile(path:reason:)``.
    public static func loadOrCreate(at url: URL) throws(VaultError) -> (ring: KeyRing, created: Bool) {
        let path = try filePath(of: url)
        if FileManager.default.fileExists(atPath: path) {
            return (try load(from: url), false)
        }
        let ring = KeyRing(single: .generate())
        let created: Bool
        do {
            created = try PrivateFileWriter.writeFile(encodeRing(ring), toPath: path, disposition: .createNew)
        } catch let reason {
            throw .keyFile(path: path, reason: reason.text)
        }
        return created ? (ring, true) : (try load(from: url), false)
    }

    /// The file-system path of `url`, which must be a file URL.
    static func filePath(of url: URL) throws(VaultError) -> String {
        guard url.isFileURL else {
            throw .keyFile(path: url.absoluteString, reason: "not a file URL")
        }
        return url.path(percentEncoded: false)
    }
}

/// Why a key file operation failed, before the path is attached; never holds key material.
struct KeyFileFailure: Error {
    var text: String

    init(_ text: String) {
        self.text = text
    }
}
