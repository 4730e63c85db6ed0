-- GitHub's webhook deliveries, one row per `X-GitHub-Delivery`: recorded when the
-- signed request arrives (a redelivery of the same id is answered and dropped), taken
-- by one process (`taken_at`), and what came of it (`outcome`).
CREATE TABLE github_deliveries (
    delivery     TEXT PRIMARY KEY,
    event        TEXT NOT NULL,
    body         TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    taken_at     TEXT,
    outcome      TEXT
);

CREATE INDEX github_deliveries_pending ON github_deliveries (received_at) WHERE taken_at IS NULL;
