-- Environment truth, part five: post-deploy verification.
--
-- After a deploy command exits 0, a stage with a version probe (or a smoke command) keeps
-- the deployment *verifying* until the probe reports the new SHA; only then it has
-- succeeded. `verifying` is a new state, and it keeps the stage busy like queued and
-- running: the state CHECK and the one-active-deployment index both change. SQLite
-- changes a CHECK only by rebuilding the table. sqlx runs every SQLite migration in a
-- transaction, where foreign keys cannot be switched off, so the rebuild defers them:
-- the rows are copied aside, the table dropped (its log lines and requests are orphans
-- for a moment, counted), rebuilt and refilled (each refilled row settles its orphans);
-- the commit fails if any orphan is left, so nothing is lost unnoticed.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE deployments_copy AS SELECT * FROM deployments;
DROP TABLE deployments;

CREATE TABLE deployments (
    id                 INTEGER PRIMARY KEY,
    pipeline_id        TEXT    NOT NULL,
    stage_id           TEXT    NOT NULL,
    sha                TEXT    NOT NULL CHECK (length(sha) = 40),
    previous_sha       TEXT             CHECK (previous_sha IS NULL OR length(previous_sha) = 40),
    kind               TEXT    NOT NULL CHECK (kind IN ('promote', 'rollback', 'redeploy')),
    state              TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'verifying', 'succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted')),
    requested_by       INTEGER REFERENCES users (id),
    reason             TEXT,
    created_at         TEXT    NOT NULL,
    started_at         TEXT,
    finished_at        TEXT,
    exit_code          INTEGER,
    -- The deploy command's process group while it runs, so that a restarted server can
    -- end whatever a crashed one left behind.
    pgid               INTEGER,
    checklist          TEXT,
    emergency_reason   TEXT,
    migrations         TEXT,
    migrations_note    TEXT,
    retries            TEXT,
    drift_overwritten  TEXT,
    drift_note         TEXT
);

INSERT INTO deployments (id, pipeline_id, stage_id, sha, previous_sha, kind, state, requested_by, reason,
                         created_at, started_at, finished_at, exit_code, pgid, checklist, emergency_reason,
                         migrations, migrations_note, retries, drift_overwritten, drift_note)
SELECT id, pipeline_id, stage_id, sha, previous_sha, kind, state, requested_by, reason,
       created_at, started_at, finished_at, exit_code, pgid, checklist, emergency_reason,
       migrations, migrations_note, retries, drift_overwritten, drift_note
FROM deployments_copy;

DROP TABLE deployments_copy;

-- At most one queued, running or verifying deployment per stage.
CREATE UNIQUE INDEX deployments_one_active_per_stage
    ON deployments (pipeline_id, stage_id) WHERE state IN ('queued', 'running', 'verifying');
CREATE INDEX deployments_by_stage ON deployments (pipeline_id, stage_id, state, id);
CREATE INDEX deployments_by_sha ON deployments (pipeline_id, sha, stage_id, state);
CREATE INDEX deployments_rollbacks ON deployments (pipeline_id, kind, state, previous_sha);
CREATE INDEX deployments_newest_by_stage ON deployments (pipeline_id, stage_id, id);
