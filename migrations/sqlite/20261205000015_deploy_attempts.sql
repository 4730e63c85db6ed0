-- Environment truth, part two: transient failures are retried.
--
-- A deployer may name failures that are transient (exit codes, output patterns such as
-- "connection reset"); such a failure is retried, within the same deployment, up to a
-- bound. Each retried attempt is kept on the deployment as a JSON array of
-- {"attempt", "exit_code", "matched", "at"} objects (NULL: never retried), and every log
-- line says which attempt printed it, so each attempt keeps its own log.
ALTER TABLE deployments ADD COLUMN retries TEXT;
ALTER TABLE deployment_log ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1);
