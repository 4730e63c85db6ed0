-- The GitHub Deployment each Slipway deployment of a GitHub pipeline created, so its
-- statuses can be posted to the right one (also after a restart), and the one a
-- successful deploy replaced can be marked `inactive`. `state` is the last status
-- Slipway knows of it (in_progress, success, failure, error, inactive).
CREATE TABLE github_deployments (
    deployment_id  INTEGER PRIMARY KEY REFERENCES deployments (id),
    pipeline       TEXT NOT NULL,
    stage          TEXT NOT NULL,
    github_id      INTEGER NOT NULL,
    state          TEXT NOT NULL
);

CREATE INDEX github_deployments_by_stage ON github_deployments (pipeline, stage, deployment_id);
