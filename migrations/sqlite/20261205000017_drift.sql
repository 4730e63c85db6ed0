-- Environment truth, part four: what each stage really runs, and drift.
--
-- One row per stage with a version probe, rewritten by every probe: `reported` is the
-- SHA (or SHA prefix) the environment last said it runs (NULL when its answer named
-- none; `detail` says why). While it reports something other than the stage's recorded
-- SHA (its latest successful deployment), `drift_runs`, `drift_recorded` and
-- `drift_since` hold that drift; they are cleared when it ends.
CREATE TABLE stage_versions (
    pipeline_id     TEXT NOT NULL,
    stage_id        TEXT NOT NULL,
    reported        TEXT,
    detail          TEXT NOT NULL,
    checked_at      TEXT NOT NULL,
    drift_runs      TEXT,
    drift_recorded  TEXT CHECK (drift_recorded IS NULL OR length(drift_recorded) = 40),
    drift_since     TEXT,
    CHECK ((drift_runs IS NULL) = (drift_recorded IS NULL) AND (drift_runs IS NULL) = (drift_since IS NULL)),
    PRIMARY KEY (pipeline_id, stage_id)
);

-- A promotion over a drifted stage records what it overwrote: the SHA the environment
-- reported, acknowledged by the promoter, and their note.
ALTER TABLE deployments ADD COLUMN drift_overwritten TEXT;
ALTER TABLE deployments ADD COLUMN drift_note TEXT;
