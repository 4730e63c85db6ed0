-- Production governance, part two: freezes declared at run time, and emergency
-- overrides.
--
-- A freeze closes stages of a pipeline for a time range ("labs until 19:00"). Freezes
-- in the config are not stored: they are read from the config. Instants are stored in
-- UTC, so text comparison orders them.
CREATE TABLE freezes (
    id           INTEGER PRIMARY KEY,
    pipeline_id  TEXT    NOT NULL,
    -- A JSON array of stage ids; NULL: every stage of the pipeline.
    stages       TEXT,
    starts_at    TEXT    NOT NULL,
    ends_at      TEXT    NOT NULL CHECK (ends_at > starts_at),
    reason       TEXT    NOT NULL,
    created_by   INTEGER REFERENCES users (id),
    created_at   TEXT    NOT NULL,
    -- Ended early by someone (a freeze that ran its course is not "ended").
    ended_at     TEXT,
    ended_by     INTEGER REFERENCES users (id),
    -- The iCalendar feed it was read from (config `pipelines.calendars[].source`, its
    -- credentials removed); NULL for a freeze ops declared. A feed's rows are replaced
    -- at each refresh, so they are changed in the feed, never ended here.
    source       TEXT
);
CREATE INDEX freezes_by_pipeline ON freezes (pipeline_id, ends_at);
CREATE INDEX freezes_by_source ON freezes (pipeline_id, source);

-- A promotion through a closed window or a freeze says why; the board shows it until
-- the stage's next regular deployment.
ALTER TABLE deployments ADD COLUMN emergency_reason TEXT;
