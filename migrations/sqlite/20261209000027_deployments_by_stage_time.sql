-- Insights read a production stage's deployments of the last days by time.
CREATE INDEX deployments_by_stage_time ON deployments (pipeline_id, stage_id, created_at);
