extension Migrations {
    /// Every migration Posthorn ships, oldest first.
    public static let all: [Migration] = [version1]

    // MARK: - Version 1

    /// Settings, workspaces and SMTP credentials.
    ///
    /// - `workspaces.token_hash` is `UNIQUE`, which also indexes the lookup every API request makes.
    /// - `credentials` rows belong to a workspace (`ON DELETE CASCADE`), and `UNIQUE(workspace_id,
    ///   name)` both enforces the per-workspace name rule and indexes the scoped lookups.
    /// - `kind` leaves room for other credential kinds; today every row is `smtp`.
    /// - `password_sealed` holds `SealedSecret.encoded` (`v1.<key id>.<base64url>`), never a
    ///   password.
    /// - Timestamps are `BIGINT` milliseconds since 1970 and flags are `BOOLEAN`, which both engines
    ///   read the same way.
    static let version1 = Migration(
        version: 1,
        name: "settings, workspaces, credentials",
        statements: [
            """
            CREATE TABLE settings (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE workspaces (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                token_hash TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE credentials (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                kind TEXT NOT NULL DEFAULT 'smtp',
                host TEXT NOT NULL,
                port INTEGER NOT NULL,
                username TEXT,
                security TEXT NOT NULL,
                accept_unverified_certificates BOOLEAN NOT NULL,
                min_tls_version TEXT NOT NULL,
                client_identifier TEXT,
                ca_certificate TEXT,
                password_sealed TEXT,
                password_fingerprint TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (workspace_id, name)
            )
            """,
        ]
    )
}
