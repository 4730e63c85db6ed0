-- Environment truth, part three: each stage's health, as its probe last said.
--
-- One row per probed stage, rewritten by every probe: `status` and `detail` are the
-- last answer, `since` when the status last changed, `checked_at` when the probe last
-- answered (an answer older than a few intervals is not trusted: the health is then
-- unknown). No row: never probed yet.
CREATE TABLE stage_health (
    pipeline_id  TEXT NOT NULL,
    stage_id     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('healthy', 'unhealthy')),
    detail       TEXT NOT NULL,
    since        TEXT NOT NULL,
    checked_at   TEXT NOT NULL,
    PRIMARY KEY (pipeline_id, stage_id)
);
