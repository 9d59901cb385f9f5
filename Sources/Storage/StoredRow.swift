import Foundation
import SQLKit

/// Reads one row's columns, turning every decoding failure into
/// ``StorageError/invalidValue(table:column:rowID:)``.
///
/// SQLKit's own decoding errors quote the offending value, which may be a token hash or a sealed
/// password; this wrapper names only the table, the column and the row's id.
struct StoredRow {
    let row: any SQLRow
    let table: String
    /// The row's `id`, or `?` when even that does not decode.
    let rowID: String

    /// Reads `row` of `table`, identified by its `idColumn`.
    init(_ row: any SQLRow, table: String, idColumn: String = "id") {
        self.row = row
        self.table = table
        self.rowID = (try? row.decode(column: idColumn, as: String.self)) ?? "?"
    }

    /// The error for `column`.
    func invalid(_ column: String) -> StorageError {
        .invalidValue(table: table, column: column, rowID: rowID)
    }

    /// A `NOT NULL` column.
    func value<Value: Decodable>(_ column: String, as type: Value.Type = Value.self) throws(StorageError) -> Value {
        do {
            return try row.decode(column: column, as: Value.self)
        } catch {
            throw invalid(column)
        }
    }

    /// A nullable column; `nil` for SQL `NULL`.
    func optional<Value: Decodable>(_ column: String, as type: Value.Type = Value.self) throws(StorageError) -> Value? {
        let isNull: Bool
        do {
            isNull = try row.decodeNil(column: column)
        } catch {
            throw invalid(column)
        }
        return isNull ? nil : try value(column, as: Value.self)
    }

    /// A `BIGINT` milliseconds-since-1970 column.
    func date(_ column: String) throws(StorageError) -> Date {
        Date(millisecondsSince1970: try value(column, as: Int64.self))
    }

    /// A `TEXT` column holding a raw value of `Value`; an unknown raw value is invalid.
    func rawValue<Value: RawRepresentable>(
        _ column: String, as type: Value.Type = Value.self
    ) throws(StorageError) -> Value where Value.RawValue == String {
        guard let parsed = Value(rawValue: try value(column, as: String.self)) else { throw invalid(column) }
        return parsed
    }
}
