-- Failed logins, for throttling (per typed account name and per client address, in a
-- sliding window). Every failure is also in the audit log; this table only serves the
-- throttle and is pruned of rows older than a day.

CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY,
    at        REAL    NOT NULL,  -- unix seconds, fractional
    account   TEXT    NOT NULL,  -- the typed name, lowercased (whether or not it exists)
    client    TEXT    NOT NULL   -- the client address
);

CREATE INDEX login_failures_by_account ON login_failures (account, at);
CREATE INDEX login_failures_by_client ON login_failures (client, at);
