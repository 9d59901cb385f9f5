/// Why the SQL store could not read what the database holds.
///
/// Descriptions name tables, columns, row ids and schema versions, never a stored value: a column
/// that failed to decode may hold a sealed password or a token hash, and these errors end up in logs
/// and API responses.
public enum StorageError: Error, Sendable, Hashable {
    /// A stored value does not decode: an unknown `security`, TLS version or credential kind, a
    /// malformed sealed password, a wrong column type, or `NULL` where a value is required.
    case invalidValue(table: String, column: String, rowID: String)
    /// The database was migrated by a newer Posthorn than this one; running on would risk writing
    /// rows the newer schema does not expect.
    case schemaTooNew(databaseVersion: Int, supportedVersion: Int)
}

extension StorageError: CustomStringConvertible {
    /// One sentence, safe for logs and API responses.
    public var description: String {
        switch self {
        case .invalidValue(let table, let column, let rowID):
            "Stored value in \(table).\(column) of row \(rowID) could not be decoded"
        case .schemaTooNew(let databaseVersion, let supportedVersion):
            "Database schema version \(databaseVersion) is newer than this build supports (\(supportedVersion))"
        }
    }
}
