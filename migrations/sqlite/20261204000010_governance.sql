-- Production governance, part one: sign-offs and promotion checklists.
--
-- A sign-off says "someone allowed to tested this SHA on this stage": the next stage's
-- "signed off" gate reads it. It never carries over to another SHA; it ends either
-- withdrawn (by someone allowed, with a reason, before the SHA moved on) or voided (a
-- rollback on its stage took the SHA off). Ended rows stay: they are history.
CREATE TABLE sign_offs (
    id           INTEGER PRIMARY KEY,
    pipeline_id  TEXT    NOT NULL,
    stage_id     TEXT    NOT NULL,
    sha          TEXT    NOT NULL CHECK (length(sha) = 40),
    signed_by    INTEGER NOT NULL REFERENCES users (id),
    note         TEXT,
    signed_at    TEXT    NOT NULL,
    ended_at     TEXT,
    ended_how    TEXT             CHECK (ended_how IN ('withdrawn', 'voided')),
    ended_by     INTEGER          REFERENCES users (id),
    end_reason   TEXT,
    CHECK ((ended_at IS NULL) = (ended_how IS NULL))
);

-- At most one sign-off in force per (pipeline, stage, SHA): a double click signs once.
CREATE UNIQUE INDEX sign_offs_one_in_force
    ON sign_offs (pipeline_id, stage_id, sha) WHERE ended_at IS NULL;
CREATE INDEX sign_offs_by_sha ON sign_offs (pipeline_id, sha);

-- The checklist items the promoter confirmed, as a JSON array of strings, in the
-- order the stage lists them; NULL where the stage asked for none.
ALTER TABLE deployments ADD COLUMN checklist TEXT;
