-- Outgoing webhooks: one delivery per (audit entry, interested webhook).
--
-- The outbox reads the audit log after `webhook_cursor.audit_id` and, in one
-- transaction with moving the cursor, stores the deliveries (the body as sent, so every
-- attempt sends the same bytes). Deliveries are sent by the server's delivery task:
-- `pending` until a 2xx answer (`delivered`), retried with backoff on 5xx answers and
-- timeouts, `failed` after the last attempt or on another answer. `last_result` is what
-- the last attempt got ("HTTP 503", "no answer within 10s").
CREATE TABLE webhook_cursor (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    audit_id  INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    pipeline_id      TEXT    NOT NULL,
    webhook_id       TEXT    NOT NULL,
    event            TEXT    NOT NULL,
    audit_id         INTEGER NOT NULL REFERENCES audit_log (id),
    url              TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending'
                             CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    last_attempt_at  TEXT,
    last_result      TEXT,
    UNIQUE (pipeline_id, webhook_id, audit_id)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
