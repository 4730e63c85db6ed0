-- Replicas, deployment runners and leases: see migrations/sqlite/20261208000025_replicas.sql.
CREATE TABLE replicas (
    id            TEXT    PRIMARY KEY NOT NULL,
    host          TEXT    NOT NULL,
    pid           INTEGER NOT NULL,
    data_dir      TEXT    NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    heartbeat_at  TIMESTAMPTZ NOT NULL,
    stopped_at    TIMESTAMPTZ
);

ALTER TABLE deployments ADD COLUMN runner TEXT REFERENCES replicas (id);
ALTER TABLE deployments ADD COLUMN cancel_requested_at TIMESTAMPTZ;

CREATE TABLE leases (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
