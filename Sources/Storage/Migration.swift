/// One step of the schema: a version, a name for the record, and the statements that take a
/// database from the previous version to this one.
///
/// Statements are fixed SQL text with no values in them, written in the subset SQLite and
/// PostgreSQL share (`TEXT`, `BIGINT`, `INTEGER`, `BOOLEAN`; no `AUTOINCREMENT`, no engine
/// pragmas), so one list migrates either engine. A released migration is never edited: a change is
/// a new version.
public struct Migration: Sendable, Hashable {
    /// Position in the schema history; strictly increasing along ``Migrations/all``.
    public let version: Int
    /// A short label, recorded in `schema_migrations.name`.
    public let name: String
    /// Run in order, inside one transaction with the `schema_migrations` row.
    public let statements: [String]

    /// A migration to `version` named `name`.
    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}
