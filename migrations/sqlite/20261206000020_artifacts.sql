-- Environment truth, part six: artifacts, and promotions that wait for one.
--
-- What each stage's artifact check last said about a SHA: `present`, `missing` (not
-- yet: a 404, a non-zero exit, no answer) or `broken` (the check cannot tell: refused,
-- misconfigured). A found artifact is never asked for again (a build of a SHA does not
-- go away by itself); one not found is asked again (by the board at most every few
-- seconds, by a queued promotion on its backoff). `missing_since`: when the check first
-- did not find it (NULL once found).
CREATE TABLE artifact_checks (
    pipeline_id    TEXT NOT NULL,
    stage_id       TEXT NOT NULL,
    sha            TEXT NOT NULL CHECK (length(sha) = 40),
    status         TEXT NOT NULL CHECK (status IN ('present', 'missing', 'broken')),
    detail         TEXT NOT NULL,
    missing_since  TEXT,
    checked_at     TEXT NOT NULL,
    PRIMARY KEY (pipeline_id, stage_id, sha),
    CHECK ((status = 'present') = (missing_since IS NULL))
);

-- A promotion whose only unmet gate was a missing artifact, queued to start by itself
-- when the artifact appears (every gate evaluated again then), until `deadline`. One
-- waiting entry per stage: a newer request replaces it only when it says so.
CREATE TABLE queued_promotions (
    id             INTEGER PRIMARY KEY,
    pipeline_id    TEXT    NOT NULL,
    stage_id       TEXT    NOT NULL,
    sha            TEXT    NOT NULL CHECK (length(sha) = 40),
    requested_by   INTEGER NOT NULL REFERENCES users (id),
    requested_at   TEXT    NOT NULL,
    deadline       TEXT    NOT NULL,
    -- What the requester confirmed and acknowledged, for the deploy it starts (JSON).
    checklist      TEXT,
    acks           TEXT,
    -- When the artifact is asked for next, and how often it was.
    next_check_at  TEXT    NOT NULL,
    checks         INTEGER NOT NULL DEFAULT 0,
    state          TEXT    NOT NULL DEFAULT 'waiting'
                           CHECK (state IN ('waiting', 'started', 'expired', 'refused', 'withdrawn', 'replaced')),
    ended_at       TEXT,
    ended_by       INTEGER REFERENCES users (id),
    -- What came of it, for people ("started deployment #12", "expired: …").
    outcome        TEXT,
    deployment_id  INTEGER REFERENCES deployments (id),
    CHECK ((state = 'waiting') = (ended_at IS NULL))
);

CREATE UNIQUE INDEX queued_promotions_one_per_stage
    ON queued_promotions (pipeline_id, stage_id) WHERE state = 'waiting';
-- The scheduler's read: waiting entries due for a check.
CREATE INDEX queued_promotions_due ON queued_promotions (next_check_at) WHERE state = 'waiting';
