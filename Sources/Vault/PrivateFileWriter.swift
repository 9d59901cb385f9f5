import Secrets
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file that only its owner can read, atomically, with POSIX calls.
///
/// Foundation's atomic write creates its temporary file with the default mode and changes the
/// mode afterwards, leaving a window in which a key file is readable by others; here the
/// temporary file is created with `O_CREAT | O_EXCL` and mode 0600 and `fchmod`ed to exactly 0600
/// (a permissive or restrictive umask changes neither) before the first byte is written.
enum PrivateFileWriter {
    /// What to do when a file already exists at the destination.
    enum Disposition {
        /// `rename(2)` over it.
        case replaceExisting
        /// `link(2)` into place, which fails if anything is there; the existing file wins.
        case createNew
    }

    /// The only mode a key file gets.
    static let mode: mode_t = 0o600

    /// Writes `bytes` to `path` via a temporary file in the same directory.
    ///
    /// - Returns: `false` only for ``Disposition/createNew`` when a file already existed (nothing
    ///   was changed); `true` once the file is in place.
    static func writeFile(_ bytes: [UInt8], toPath path: String, disposition: Disposition) throws(KeyFileFailure) -> Bool {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path(percentEncoded: false)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw KeyFileFailure("the directory \(directory) does not exist")
        }
        let randomSuffix = (0..<8).map { _ in UInt8.random(in: .min ... .max) }.hexString
        let temporaryPath = url.deletingLastPathComponent()
            .appending(component: ".\(url.lastPathComponent).\(randomSuffix).tmp")
            .path(percentEncoded: false)

        try writeNewPrivateFile(bytes, atPath: temporaryPath)
        defer { unlink(temporaryPath) }  // after rename it is already gone; after link it is a second name

        switch disposition {
        case .replaceExisting:
            guard rename(temporaryPath, path) == 0 else { throw failure("could not be moved into place") }
        case .createNew:
            guard link(temporaryPath, path) == 0 else {
                if errno == EEXIST { return false }
                throw failure("could not be linked into place")
            }
        }
        syncDirectory(directory)
        return true
    }

    /// Creates `path` (which must not exist) with mode 0600, writes `bytes` and flushes them.
    /// Removes the file again if any step fails.
    private static func writeNewPrivateFile(_ bytes: [UInt8], atPath path: String) throws(KeyFileFailure) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard descriptor >= 0 else { throw failure("a temporary file could not be created") }
        var succeeded = false
        defer {
            close(descriptor)
            if !succeeded { unlink(path) }
        }
        guard fchmod(descriptor, mode) == 0 else { throw failure("the file mode could not be set to 0600") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw failure("could not be written")
            }
            written += result
        }
        guard fsync(descriptor) == 0 else { throw failure("could not be flushed to disk") }
        succeeded = true
    }

    /// Flushes the directory entry so the new name survives a crash; best effort, since some
    /// file systems refuse `fsync` on a directory and the data itself is already on disk.
    private static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    /// `what` with the current `errno`'s message.
    private static func failure(_ what: String) -> KeyFileFailure {
        KeyFileFailure("\(what): \(String(cString: strerror(errno)))")
    }
}
