#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Foundation
import Synchronization
import Workspaces

/// The data directory's own rules: owner-only permissions, and a lock file so that key rotation
/// never runs while a server or another command is using the keys.
///
/// Every process that opens the directory holds a shared `flock` on `posthorn.lock` for as long as
/// it runs; `posthorn key rotate` needs it exclusively. A rotation therefore cannot race a server
/// that would keep sealing new passwords with the key being retired.
public final class DataDirectoryLock: Sendable {
    private let descriptor: Mutex<Int32>

    /// Prepares `directory` (created 0700, or tightened to 0700) and takes the lock on `fileName`.
    public init(directory: URL, exclusive: Bool, fileName: String = "posthorn.lock") throws {
        // Everything this process creates from here on (database, WAL, key file, temp files) is
        // owner-only, whatever the caller's umask was.
        umask(0o077)
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw WorkspaceError.invalid("dataDir", "\(directory.path) exists and is not a directory")
            }
            do {
                try files.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path)
            } catch {
                throw WorkspaceError.invalid("dataDir", "\(directory.path) must be owned by this user (it cannot be made private: mode 0700)")
            }
        } else {
            try files.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let path = directory.appendingPathComponent(fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw WorkspaceError.invalid("dataDir", "\(path) cannot be opened")
        }
        descriptor = Mutex(fd)
        guard flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
            release()
            throw WorkspaceError.invalid(
                "dataDir",
                exclusive
                    ? "another posthorn process (a server or a command) is using \(directory.path); stop it before rotating the key"
                    : "a key rotation is running on \(directory.path); try again when it has finished")
        }
    }

    /// Lets go of the lock (closing the descriptor releases the `flock`). Idempotent.
    public func release() {
        descriptor.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    deinit {
        release()
    }
}

/// Held by the one process that executes runs on an embedded (SQLite) data directory (an
/// exclusive lock on `executor.lock`): `posthorn serve`, or `posthorn flow run` when no server is
/// running. Two executors on one embedded database would each take the other's `running` runs for
/// orphans at start. On PostgreSQL any number of instances execute: leases keep them apart, and
/// the role holds no lock.
public final class ExecutionLease: Sendable {
    private let lock: DataDirectoryLock?

    init(lock: DataDirectoryLock?) {
        self.lock = lock
    }

    /// Gives the role up.
    public func release() { lock?.release() }
}
