-- Production governance, part three: approval requests.
--
-- Someone who may promote into a stage that asks for approval requests it for a SHA;
-- an approver approves it for a slot (from, until) or rejects it. An approval counts
-- only inside its slot, for its SHA, while the stage still runs the SHA it ran when the
-- approval was given (`base_sha`); the deployment it lets through consumes it. An
-- approval that no longer counts (its slot ended, or the stage moved on) is marked
-- expired when the SHA is requested again.
CREATE TABLE approval_requests (
    id                      INTEGER PRIMARY KEY,
    pipeline_id             TEXT    NOT NULL,
    stage_id                TEXT    NOT NULL,
    sha                     TEXT    NOT NULL CHECK (length(sha) = 40),
    requested_by            INTEGER NOT NULL REFERENCES users (id),
    note                    TEXT,
    -- The checklist items the requester confirmed (JSON), for a deploy started at the
    -- slot's start by the server.
    checklist               TEXT,
    requested_at            TEXT    NOT NULL,
    state                   TEXT    NOT NULL DEFAULT 'pending'
                                    CHECK (state IN ('pending', 'approved', 'rejected', 'consumed', 'expired')),
    decided_by              INTEGER REFERENCES users (id),
    decided_at              TEXT,
    decision_reason         TEXT,
    slot_from               TEXT,
    slot_until              TEXT,
    auto_start              INTEGER NOT NULL DEFAULT 0,
    outside_windows_reason  TEXT,
    -- The stage's current SHA when the approval was given: if it changes, the approval
    -- no longer counts.
    base_sha                TEXT,
    deployment_id           INTEGER REFERENCES deployments (id),
    -- What happened when the server tried to start the deploy at the slot's start.
    auto_started_at         TEXT,
    auto_start_result       TEXT,
    CHECK ((state IN ('approved', 'consumed', 'expired')) = (slot_from IS NOT NULL AND slot_until IS NOT NULL))
);

-- One open (pending or approved) request per (pipeline, stage, SHA).
CREATE UNIQUE INDEX approval_requests_one_open
    ON approval_requests (pipeline_id, stage_id, sha) WHERE state IN ('pending', 'approved');
CREATE INDEX approval_requests_by_stage ON approval_requests (pipeline_id, stage_id, state);
-- The scheduler's read: approved auto-starts not yet tried.
CREATE INDEX approval_requests_auto_start
    ON approval_requests (slot_from) WHERE state = 'approved' AND auto_start = 1 AND auto_started_at IS NULL;
