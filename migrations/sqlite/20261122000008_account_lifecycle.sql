-- Account lifecycle: forced password changes, one row per login session, and the
-- one-time setup link for the first admin.

-- Set when an admin resets a password: the user must choose a new one before doing
-- anything else. Cleared when they do.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_at TEXT;

-- A login session as the user sees it ("Firefox on 10.0.0.7, since 09:12"). The
-- tower-sessions record (cookie id -> data) holds this row's id; every request checks
-- that the row is still open, so ending a session (from another browser, by an admin
-- disabling the user, by a password change) takes effect at the session's next request.
-- AUTOINCREMENT: an id is never reused, so an ended session can never come back to life
-- through a new row that happens to get its id.
CREATE TABLE user_sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT    NOT NULL,
    expires_at    INTEGER NOT NULL,  -- unix seconds: the absolute end, whatever the activity
    last_seen_at  TEXT    NOT NULL,
    client        TEXT    NOT NULL,  -- the client address at login
    user_agent    TEXT    NOT NULL,  -- truncated to 200 characters
    ended_at      TEXT,
    ended_reason  TEXT               -- 'logout', 'ended by …', 'password changed', 'disabled', …
);

CREATE INDEX user_sessions_open ON user_sessions (user_id) WHERE ended_at IS NULL;

-- One-time links that create the first admin. Only the SHA-256 of the token is kept;
-- the link itself is printed once on the server's console.
CREATE TABLE setup_tokens (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,  -- unix seconds
    used_at     TEXT
);
