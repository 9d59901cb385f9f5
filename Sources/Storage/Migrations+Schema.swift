extension Migrations {
    /// Every migration Posthorn ships, oldest first.
    public static let all: [Migration] = [version1, version2, version3, version4, version5, version6, version7, version8, version9, version10, version11, version12, version13, version14]

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

    // MARK: - Version 2

    /// Flows, their cron fires, and runs.
    ///
    /// - `flows` belong to a workspace (`ON DELETE CASCADE`); `UNIQUE(workspace_id, name)` enforces
    ///   the per-workspace name rule and indexes the scoped lookups, `UNIQUE` on `webhook_id` indexes
    ///   the lookup every `POST /hooks/{id}` makes (SQLite and PostgreSQL both allow many `NULL`s
    ///   under it). The trigger is columns; the steps and the retry policy are one JSON document
    ///   in `definition` (`{"retry": {"maxAttempts", "initialDelayMs", "maxDelayMs"}, "steps":
    ///   [{"id", "type", "parameters", "onError"}]}`), read and written whole.
    /// - `webhook_secret_hash` is a SHA-256 of the shared secret, never the secret.
    /// - `cron_fires` keeps the last due time each cron flow fired for, so a restart neither fires
    ///   a due time twice nor forgets one; it goes with its flow.
    /// - `runs` are deliberately not foreign-keyed to `flows` or `workspaces`: the history of a
    ///   flow outlives the flow (deleting it must not delete what it did), and the insert on the
    ///   webhook hot path checks no parent row. `trigger`, `steps` and `error` are JSON text.
    /// - The run indexes serve the executor's claim (`status, not_before, created_at, id`: the
    ///   claim's filter and order, which also serves the recovery scan and the status counts) and
    ///   the history pages, newest first by `(created_at, id)`, for a workspace and for one flow.
    static let version2 = Migration(
        version: 2,
        name: "flows, cron fires, runs",
        statements: [
            """
            CREATE TABLE flows (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                trigger_kind TEXT NOT NULL,
                webhook_id TEXT UNIQUE,
                webhook_secret_hash TEXT,
                cron_expression TEXT,
                cron_time_zone TEXT,
                definition TEXT NOT NULL,
                enabled BOOLEAN NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (workspace_id, name)
            )
            """,
            """
            CREATE TABLE cron_fires (
                flow_id TEXT PRIMARY KEY REFERENCES flows(id) ON DELETE CASCADE,
                last_due_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE runs (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL,
                flow_id TEXT NOT NULL,
                status TEXT NOT NULL,
                trigger TEXT NOT NULL,
                steps TEXT NOT NULL,
                error TEXT,
                created_at BIGINT NOT NULL,
                started_at BIGINT,
                finished_at BIGINT,
                not_before BIGINT NOT NULL,
                lease_owner TEXT,
                lease_expires_at BIGINT
            )
            """,
            "CREATE INDEX runs_claim ON runs (status, not_before, created_at, id)",
            "CREATE INDEX runs_workspace_history ON runs (workspace_id, created_at, id)",
            "CREATE INDEX runs_flow_history ON runs (workspace_id, flow_id, created_at, id)",
        ]
    )

    // MARK: - Version 3

    /// Cancellation requests, credential versions, and API tokens a workspace can name and revoke.
    ///
    /// - `run_cancellations` holds a request to cancel a running run until its worker sees it at
    ///   the next step boundary. A table of its own, not a column of `runs`: the group-commit writer
    ///   replaces whole run rows, and would overwrite a flag set between its read and its write.
    /// - `credentials.version` counts changes, so a PATCH that read an older version is refused
    ///   (409 `version_conflict`) instead of silently undoing someone else's change.
    /// - `runs.starts_without_progress` counts the claims of a run since it last saved progress:
    ///   the claim's own write keeps it, so quarantining a run that kills the server at every start
    ///   costs no extra write.
    /// - The claim index gains `workspace_id` after `status`: claims are fair across workspaces,
    ///   so they read each workspace's due runs separately (`status, workspace_id, not_before,
    ///   created_at, id`); the queries that only filter by status use its prefix as before.
    /// - `api_tokens` replaces the single token of `workspaces.token_hash`: a workspace may hold
    ///   several named tokens, each revocable, with the time of its last use. The existing tokens
    ///   move over (named "default"); the old column cannot be dropped under SQLite's rules for a
    ///   `UNIQUE` column, so it is overwritten with a value no token hashes to (`migrated:<id>`)
    ///   and no longer read. `created_by` is the token whose call created a token (`NULL`: the
    ///   workspace's first, or one made with the CLI), so tokens minted with a leaked one can be
    ///   found and revoked too.
    static let version3 = Migration(
        version: 3,
        name: "run cancellations, credential versions, api tokens",
        statements: [
            """
            CREATE TABLE run_cancellations (
                run_id TEXT PRIMARY KEY,
                requested_at BIGINT NOT NULL
            )
            """,
            "ALTER TABLE credentials ADD COLUMN version BIGINT NOT NULL DEFAULT 1",
            """
            CREATE TABLE api_tokens (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                created_by TEXT,
                created_at BIGINT NOT NULL,
                last_used_at BIGINT,
                UNIQUE (workspace_id, name)
            )
            """,
            """
            INSERT INTO api_tokens (id, workspace_id, name, token_hash, created_at)
            SELECT 'tok_' || id, id, 'default', token_hash, created_at FROM workspaces
            """,
            "UPDATE workspaces SET token_hash = 'migrated:' || id",
            "ALTER TABLE runs ADD COLUMN starts_without_progress BIGINT NOT NULL DEFAULT 0",
            "DROP INDEX runs_claim",
            "CREATE INDEX runs_claim ON runs (status, workspace_id, not_before, created_at, id)",
        ]
    )

    // MARK: - Version 4

    /// People who sign in to the web app, their roles in workspaces, browser sessions, invitations,
    /// and the outcome of each credential's latest connection test.
    ///
    /// - `users.email` is lower-cased by the service and `UNIQUE`; `password_hash` is bcrypt's
    ///   self-describing string (`$2b$<cost>$<salt><hash>`), never a password. The partial unique
    ///   index `users_one_owner` allows one instance owner.
    /// - `memberships` go with their user and their workspace (`ON DELETE CASCADE`); the primary key
    ///   `(user_id, workspace_id)` serves "my workspaces", `memberships_workspace` "its members".
    /// - `sessions` and `invites` are keyed by the SHA-256 of their random value, which is never
    ///   stored; a session goes with its user, an invite with its workspace. `invites.used_at` makes
    ///   a link work once.
    /// - `credential_tests` holds one row per credential (its latest test) and goes with it.
    static let version4 = Migration(
        version: 4,
        name: "users, memberships, sessions, invites, credential tests",
        statements: [
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                is_owner BOOLEAN NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE memberships (
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                role TEXT NOT NULL,
                joined_at BIGINT NOT NULL,
                PRIMARY KEY (user_id, workspace_id)
            )
            """,
            // One instance owner, even when two setups race.
            "CREATE UNIQUE INDEX users_one_owner ON users (is_owner) WHERE is_owner",
            "CREATE INDEX memberships_workspace ON memberships (workspace_id)",
            """
            CREATE TABLE sessions (
                id_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX sessions_user ON sessions (user_id)",
            """
            CREATE TABLE invites (
                id TEXT PRIMARY KEY,
                token_hash TEXT NOT NULL UNIQUE,
                workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                role TEXT NOT NULL,
                email TEXT,
                created_by TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT
            )
            """,
            """
            CREATE TABLE credential_tests (
                credential_id TEXT PRIMARY KEY REFERENCES credentials(id) ON DELETE CASCADE,
                workspace_id TEXT NOT NULL,
                ok BOOLEAN NOT NULL,
                tested_at BIGINT NOT NULL,
                code TEXT,
                tls_version TEXT
            )
            """,
            "CREATE INDEX credential_tests_workspace ON credential_tests (workspace_id)",
        ]
    )

    // MARK: - Version 5

    /// Flow versions: a save names the version it was made from, and the store refuses it when
    /// the flow was saved since (two editors cannot overwrite each other unseen).
    static let version5 = Migration(
        version: 5,
        name: "flow versions",
        statements: [
            "ALTER TABLE flows ADD COLUMN version BIGINT NOT NULL DEFAULT 1",
        ]
    )

    // MARK: - Version 6

    /// Sending domains and their DKIM keys.
    ///
    /// - A domain belongs to a workspace (`ON DELETE CASCADE`), once per workspace
    ///   (`UNIQUE(workspace_id, name)`); its keys go with it.
    /// - `private_key_sealed` holds `SealedSecret.encoded` of the PEM private key, bound to the
    ///   workspace and the key's id; `public_key` is the DNS record's `p=` value.
    /// - `UNIQUE(domain_id, selector)`: a selector names one key of a domain.
    static let version6 = Migration(
        version: 6,
        name: "sending domains, dkim keys",
        statements: [
            """
            CREATE TABLE sending_domains (
                id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                UNIQUE (workspace_id, name)
            )
            """,
            """
            CREATE TABLE dkim_keys (
                id TEXT PRIMARY KEY,
                domain_id TEXT NOT NULL REFERENCES sending_domains(id) ON DELETE CASCADE,
                workspace_id TEXT NOT NULL,
                selector TEXT NOT NULL,
                algorithm TEXT NOT NULL,
                private_key_sealed TEXT NOT NULL,
                public_key TEXT NOT NULL,
                active BOOLEAN NOT NULL,
                created_at BIGINT NOT NULL,
                activated_at BIGINT,
                UNIQUE (domain_id, selector)
            )
            """,
        ]
    )

    /// Rate limits on credentials, and what the rate gate spent and reserved (#19).
    static let version7 = Migration(
        version: 7,
        name: "credential and workspace rate limits, rate spends",
        statements: [
            "ALTER TABLE credentials ADD COLUMN rate_limits TEXT",
            "ALTER TABLE workspaces ADD COLUMN rate_limits TEXT",
            """
            CREATE TABLE rate_spends (
                credential_id TEXT NOT NULL,
                spend_key TEXT NOT NULL,
                at BIGINT NOT NULL,
                cost BIGINT NOT NULL
            )
            """,
            "CREATE INDEX rate_spends_at ON rate_spends (at)",
        ]
    )

    /// The suppression list (#20): addresses a workspace no longer sends to.
    static let version8 = Migration(
        version: 8,
        name: "suppressions",
        statements: [
            """
            CREATE TABLE suppressions (
                workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                address_key TEXT NOT NULL,
                address TEXT NOT NULL,
                reason TEXT NOT NULL,
                detail TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (workspace_id, address_key)
            )
            """,
        ]
    )

    /// Messages flows sent, by Message-ID, for matching bounces to their step (#20).
    static let version9 = Migration(
        version: 9,
        name: "sent messages",
        statements: [
            """
            CREATE TABLE sent_messages (
                message_id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                run_id TEXT NOT NULL,
                step_id TEXT NOT NULL,
                recipients TEXT NOT NULL,
                sent_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX sent_messages_sent_at ON sent_messages (sent_at)",
        ]
    )

    /// Each credential's bounce intake id (#20): the capability in its intake URL.
    static let version10 = Migration(
        version: 10,
        name: "bounce intakes",
        statements: [
            """
            CREATE TABLE bounce_intakes (
                intake_id TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                credential_id TEXT NOT NULL UNIQUE REFERENCES credentials(id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL
            )
            """,
        ]
    )

    /// The providers set up on a bounce intake (#20): SES topic, SendGrid's verification key,
    /// Mailgun's signing key, Postmark's basic credentials — as one sealed JSON document; and
    /// whether a credential's sends ask for delivery status notifications (on for every existing
    /// one too); each step's deliveries, beside its run.
    static let version11 = Migration(
        version: 11,
        name: "bounce intake providers, delivery notifications, step deliveries",
        statements: [
            "ALTER TABLE bounce_intakes ADD COLUMN providers_sealed TEXT",
            "ALTER TABLE credentials ADD COLUMN delivery_notifications BOOLEAN NOT NULL DEFAULT TRUE",
            // Beside the run, not in it: a bounce must not rewrite a run that is still executing.
            // No foreign key (a run is rewritten as delete + insert); retention deletes both.
            """
            CREATE TABLE step_deliveries (
                run_id TEXT NOT NULL,
                step_id TEXT NOT NULL,
                recipient_key TEXT NOT NULL,
                recipient TEXT NOT NULL,
                status TEXT NOT NULL,
                code TEXT,
                diagnostic TEXT,
                at BIGINT NOT NULL,
                PRIMARY KEY (run_id, step_id, recipient_key)
            )
            """,
        ]
    )

    /// Idempotency keys of webhook and manual run starts (#17): one run per flow and key, the key
    /// bound to the SHA-256 of the body it came with.
    static let version12 = Migration(
        version: 12,
        name: "idempotency keys",
        statements: [
            """
            CREATE TABLE idempotency_keys (
                flow_id TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                body_sha256 TEXT NOT NULL,
                run_id TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (flow_id, idempotency_key)
            )
            """,
            "CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)",
        ]
    )

    /// Signed provider calls already taken in (#17): remembered in the database, so that a call
    /// captured and replayed to another instance is refused there too.
    static let version13 = Migration(
        version: 13,
        name: "intake replays",
        statements: [
            """
            CREATE TABLE intake_replays (
                digest TEXT PRIMARY KEY,
                expires_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX intake_replays_expires_at ON intake_replays (expires_at)",
        ]
    )

    /// OAuth 2.0 credentials (#21): the provider a credential signs in with and whether it must be
    /// connected again; the sign-ins under way, each found by the hash of its single-use `state`
    /// and bound to the hash of the browser session and the workspace that started it. The PKCE
    /// verifier is not stored: it is derived from the state with a key of the vault.
    static let version14 = Migration(
        version: 14,
        name: "oauth credentials",
        statements: [
            "ALTER TABLE credentials ADD COLUMN oauth_provider TEXT",
            "ALTER TABLE credentials ADD COLUMN oauth_needs_reconnect BOOLEAN NOT NULL DEFAULT FALSE",
            """
            CREATE TABLE oauth_authorizations (
                state_hash TEXT PRIMARY KEY,
                session_hash TEXT NOT NULL,
                workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                provider_id TEXT NOT NULL,
                credential_name TEXT,
                credential_id TEXT,
                key_id TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX oauth_authorizations_expires_at ON oauth_authorizations (expires_at)",
        ]
    )
}
