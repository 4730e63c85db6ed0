-- Several Slipway processes can share one database (PostgreSQL); on SQLite there is
-- one, and the same rows serve it.
--
-- `replicas`: every process registers at start (id: host, pid and a random part, new
-- at every start) and heartbeats. One whose heartbeat is older than the replica
-- timeout is dead: another marks its deployments interrupted and, on the same host,
-- ends their process groups (found by `data_dir`, part of the deploy's marker).
-- `stopped_at`: it stopped cleanly, or was declared dead (a replica that finds itself
-- declared dead cancels what it still runs and registers again).
CREATE TABLE replicas (
    id            TEXT    PRIMARY KEY NOT NULL,
    host          TEXT    NOT NULL,
    pid           INTEGER NOT NULL,
    data_dir      TEXT    NOT NULL,
    started_at    TEXT    NOT NULL,
    heartbeat_at  TEXT    NOT NULL,
    stopped_at    TEXT
);

-- The replica running a deployment, set by the transaction that creates it: the one
-- that created it runs it, so a deployment is claimed exactly once.
ALTER TABLE deployments ADD COLUMN runner TEXT REFERENCES replicas (id);

-- A cancel asked on any replica: the runner cancels what it finds here (a replica
-- other than the runner cannot signal its processes).
ALTER TABLE deployments ADD COLUMN cancel_requested_at TEXT;

-- Leases: background work that must run once per cluster (fetch polls, probes,
-- scheduled starts, queued promotions, outgoing webhooks) runs on the holder of the
-- `background` lease, renewed with each heartbeat; when it lapses another takes it.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
