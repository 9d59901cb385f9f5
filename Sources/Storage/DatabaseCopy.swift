public import Logging
import SQLKit

/// `posthorn db copy`: moves a whole installation from one database to another — an embedded
/// SQLite file to the PostgreSQL several instances will share — and proves the move by counting.
///
/// Both stores are opened (so migrated to this build's schema) before the copy. Every table of the
/// target's schema but the migration ledger is copied row for row, parents before children (by
/// the target's foreign keys), in one transaction on the target: a copy that fails leaves the
/// target as empty as it found it. Secrets move as they are stored, sealed: the same master key
/// opens them afterwards. Columns are bound by the target's types (`BOOLEAN` as a Boolean —
/// SQLite keeps it as an integer —, `BIGINT`/`INTEGER` as integers, `TEXT` as text).
public enum DatabaseCopy {
    /// One table's rows on each side after the copy.
    public struct TableCount: Sendable, Hashable {
        public var table: String
        public var source: Int
        public var target: Int
    }

    /// Why a copy did not happen.
    public enum CopyError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The target already holds data (its tables are not empty): a copy would mix two installations.
        case targetNotEmpty(table: String)
        /// The source lacks a table or column the target has (not migrated by this build).
        case sourceMissing(String)
        /// A column type the copy does not know how to bind.
        case unsupportedType(table: String, column: String, type: String)
        /// After the copy, a table's counts differ.
        case countMismatch(TableCount)

        public var description: String {
            switch self {
            case .targetNotEmpty(let table):
                "to: the target database already holds data (table \(table) is not empty); copy into an empty database"
            case .sourceMissing(let what):
                "from: the source database has no \(what)"
            case .unsupportedType(let table, let column, let type):
                "to: \(table).\(column) has type \(type), which the copy does not move"
            case .countMismatch(let count):
                "copy: \(count.table) has \(count.source) rows in the source and \(count.target) in the target"
            }
        }
    }

    /// Rows per multi-row `INSERT` (PostgreSQL allows 65,535 binds a statement).
    static let rowsPerInsert = 200

    /// Copies every row of `source` into the empty `target`; returns each table's counts, which
    /// are checked equal.
    public static func copy(from source: SQLStore, to target: SQLStore, logger: Logger) async throws -> [TableCount] {
        let tables = try await tablesInDependencyOrder(target.database)
        for table in tables where try await count(table.name, in: target.database) > 0 {
            throw CopyError.targetNotEmpty(table: table.name)
        }
        try await target.transaction { session in
            for table in tables {
                var offset = 0
                while true {
                    let rows = try await source.database.raw("""
                        SELECT \(idents: table.columns.map(\.name), joinedBy: ", ") FROM \(ident: table.name) ORDER BY rowid LIMIT \(bind: 1_000) OFFSET \(bind: offset)
                        """).all()
                    if rows.isEmpty { break }
                    for chunk in rows.chunked(by: rowsPerInsert) {
                        var values: [SQLQueryString] = []
                        for row in chunk {
                            let bound = try table.columns.map { column throws -> SQLQueryString in try column.bind(from: row, table: table.name) }
                            values.append("(\(bound.joined(separator: ", ")))")
                        }
                        try await session.raw("""
                            INSERT INTO \(ident: table.name) (\(idents: table.columns.map(\.name), joinedBy: ", ")) VALUES \(values.joined(separator: ", "))
                            """).run()
                    }
                    offset += rows.count
                }
                logger.debug("table copied", metadata: ["db.table": "\(table.name)", "db.rows": "\(offset)"])
            }
        }
        var counts: [TableCount] = []
        for table in tables {
            let count = TableCount(
                table: table.name, source: try await count(table.name, in: source.database), target: try await count(table.name, in: target.database))
            guard count.source == count.target else { throw CopyError.countMismatch(count) }
            counts.append(count)
        }
        return counts
    }

    // MARK: - The target's schema

    struct Table {
        var name: String
        var columns: [Column]
    }

    struct Column {
        var name: String
        var type: String

        /// The row's value of this column as a bind of the target's type.
        func bind(from row: any SQLRow, table: String) throws -> SQLQueryString {
            if try row.decodeNil(column: name) { return "NULL" }
            switch type {
            case "boolean": return "\(bind: try row.decode(column: name, as: Bool.self))"
            case "bigint", "integer", "smallint": return "\(bind: try row.decode(column: name, as: Int64.self))"
            case "text", "character varying": return "\(bind: try row.decode(column: name, as: String.self))"
            default: throw CopyError.unsupportedType(table: table, column: name, type: type)
            }
        }
    }

    /// The target's tables (but the migration ledger) with their columns, every table after the
    /// tables its foreign keys name.
    static func tablesInDependencyOrder(_ database: any SQLDatabase) async throws -> [Table] {
        var columns: [String: [Column]] = [:]
        for row in try await database.raw("""
            SELECT table_name, column_name, data_type FROM information_schema.columns
            WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position
            """).all() {
            let table = try row.decode(column: "table_name", as: String.self)
            guard table != "schema_migrations" else { continue }
            columns[table, default: []].append(Column(
                name: try row.decode(column: "column_name", as: String.self), type: try row.decode(column: "data_type", as: String.self)))
        }
        var parents: [String: Set<String>] = [:]
        for row in try await database.raw("""
            SELECT DISTINCT tc.table_name AS child, ccu.table_name AS parent
            FROM information_schema.table_constraints tc
            JOIN information_schema.constraint_column_usage ccu
              ON tc.constraint_name = ccu.constraint_name AND tc.table_schema = ccu.table_schema
            WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()
            """).all() {
            let child = try row.decode(column: "child", as: String.self)
            let parent = try row.decode(column: "parent", as: String.self)
            if child != parent { parents[child, default: []].insert(parent) }
        }
        var ordered: [Table] = []
        var placed: Set<String> = []
        var remaining = columns.keys.sorted()
        while !remaining.isEmpty {
            let ready = remaining.filter { (parents[$0] ?? []).isSubset(of: placed) }
            // A cycle of foreign keys (none in Posthorn's schema) would leave nothing ready.
            guard !ready.isEmpty else { throw CopyError.sourceMissing("order for tables \(remaining.joined(separator: ", ")) (their foreign keys form a cycle)") }
            for name in ready {
                ordered.append(Table(name: name, columns: columns[name]!))
                placed.insert(name)
            }
            remaining.removeAll { placed.contains($0) }
        }
        return ordered
    }

    static func count(_ table: String, in database: any SQLDatabase) async throws -> Int {
        let row = try await database.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()
        return Int(try row?.decode(column: "n", as: Int64.self) ?? 0)
    }
}
