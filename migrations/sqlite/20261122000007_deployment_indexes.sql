-- Indexes found by the load benchmark (BENCHMARKS.md): board queries must cost the same
-- however long the deployment history is.

-- "Was this SHA rolled back on that stage?" looks up rollbacks by the SHA they replaced.
CREATE INDEX deployments_rollbacks ON deployments (pipeline_id, kind, state, previous_sha);

-- A stage's newest deployments whatever their state (the last attempt).
CREATE INDEX deployments_newest_by_stage ON deployments (pipeline_id, stage_id, id);
