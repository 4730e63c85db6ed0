-- Login sessions, in the schema tower-sessions-sqlx-store expects (id, serialised
-- record, expiry as a unix timestamp). Created here rather than by the store's own
-- `migrate()` so that `/readyz` and the migration history cover every table.

CREATE TABLE tower_sessions (
    id           TEXT    PRIMARY KEY NOT NULL,
    data         BLOB    NOT NULL,
    expiry_date  INTEGER NOT NULL
);

CREATE INDEX tower_sessions_expiry ON tower_sessions (expiry_date);
