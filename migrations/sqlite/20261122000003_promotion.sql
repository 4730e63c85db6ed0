-- The promotion engine: ready marks, deployments and their logs, locks, the audit log,
-- and the permanent ancestry cache.
--
-- Pipelines and stages live in the config; rows refer to them by their config ids, so a
-- stage removed from the config keeps its history.

-- A SHA marked ready for the first stage.
CREATE TABLE ready_marks (
    pipeline_id  TEXT    NOT NULL,
    sha          TEXT    NOT NULL CHECK (length(sha) = 40),
    marked_by    INTEGER NOT NULL REFERENCES users (id),
    note         TEXT,
    marked_at    TEXT    NOT NULL,
    PRIMARY KEY (pipeline_id, sha)
);

-- One row per deploy attempt. A stage's current SHA is the SHA of its latest succeeded
-- deployment; failed, cancelled, timed-out and interrupted attempts leave it unchanged.
CREATE TABLE deployments (
    id            INTEGER PRIMARY KEY,
    pipeline_id   TEXT    NOT NULL,
    stage_id      TEXT    NOT NULL,
    sha           TEXT    NOT NULL CHECK (length(sha) = 40),
    previous_sha  TEXT             CHECK (previous_sha IS NULL OR length(previous_sha) = 40),
    kind          TEXT    NOT NULL CHECK (kind IN ('promote', 'rollback', 'redeploy')),
    state         TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted')),
    requested_by  INTEGER REFERENCES users (id),
    reason        TEXT,
    created_at    TEXT    NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    exit_code     INTEGER,
    -- The deploy command's process group while it runs, so that a restarted server can
    -- end whatever a crashed one left behind.
    pgid          INTEGER
);

-- At most one queued or running deployment per stage, enforced by the database: a double
-- click or fifty concurrent requests create exactly one.
CREATE UNIQUE INDEX deployments_one_active_per_stage
    ON deployments (pipeline_id, stage_id) WHERE state IN ('queued', 'running');
-- Latest deployment per stage and state (current SHA, last attempt) without scanning history.
CREATE INDEX deployments_by_stage ON deployments (pipeline_id, stage_id, state, id);
-- Where has this SHA been (card placement, previous-stage gate).
CREATE INDEX deployments_by_sha ON deployments (pipeline_id, sha, stage_id, state);

-- Output of a deployment, line by line, kept after it ends.
CREATE TABLE deployment_log (
    deployment_id  INTEGER NOT NULL REFERENCES deployments (id),
    seq            INTEGER NOT NULL,
    at             TEXT    NOT NULL,
    stream         TEXT    NOT NULL CHECK (stream IN ('stdout', 'stderr', 'slipway')),
    line           TEXT    NOT NULL,
    PRIMARY KEY (deployment_id, seq)
);

-- A held lock blocks promotion into the stage.
CREATE TABLE locks (
    pipeline_id  TEXT    NOT NULL,
    stage_id     TEXT    NOT NULL,
    locked_by    INTEGER NOT NULL REFERENCES users (id),
    reason       TEXT    NOT NULL,
    locked_at    TEXT    NOT NULL,
    expires_at   TEXT,
    PRIMARY KEY (pipeline_id, stage_id)
);

-- Append-only record of every action and its outcome. Never updated or deleted.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           TEXT    NOT NULL,
    actor        TEXT,
    action       TEXT    NOT NULL,
    pipeline_id  TEXT,
    stage_id     TEXT,
    sha          TEXT,
    target       TEXT,
    outcome      TEXT    NOT NULL,
    detail       TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Whether `ancestor` is an ancestor of (or equal to) `descendant`. Two commits' ancestry
-- never changes, so results are cached forever and viewing a board does no repeated git work.
CREATE TABLE ancestry_cache (
    pipeline_id  TEXT    NOT NULL,
    ancestor     TEXT    NOT NULL,
    descendant   TEXT    NOT NULL,
    is_ancestor  INTEGER NOT NULL CHECK (is_ancestor IN (0, 1)),
    PRIMARY KEY (pipeline_id, ancestor, descendant)
);
