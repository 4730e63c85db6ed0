-- Throttled password attempts are aggregated in the audit log: one row per client
-- address per minute at most, saying how many attempts were refused since the last one.
-- This table remembers, per address, when that last row was written and how many
-- refusals have not been written since; it is pruned of addresses quiet for a day.

CREATE TABLE login_throttle_audits (
    client           TEXT    PRIMARY KEY NOT NULL,
    last_audited_at  REAL    NOT NULL,  -- unix seconds, fractional
    unaudited        INTEGER NOT NULL DEFAULT 0
);
