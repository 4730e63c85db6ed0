-- Account lifecycle: forced password changes, one row per login session, and the
-- one-time setup link for the first admin.

-- Set when an admin chose the password (a reset, or a new user's generated one): the
-- user must choose their own before doing anything else. Cleared when they do.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

-- An open login session as the user sees it ("Firefox on 10.0.0.7, since 09:12"). The
-- tower-sessions record (cookie id -> data) holds this row's id; every request checks
-- that the row still exists and is before its absolute end. Ending a session (logout,
-- from another browser, an admin disabling the user, a password change) deletes the
-- row, which takes effect at that session's next request. AUTOINCREMENT: an id is never
-- reused, so an ended session can never come back to life through a new row that
-- happens to get its id.
CREATE TABLE user_sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT    NOT NULL,
    expires_at    INTEGER NOT NULL,  -- unix seconds: the absolute end, whatever the activity
    last_seen_at  TEXT    NOT NULL,
    client        TEXT    NOT NULL,  -- the client address at login
    user_agent    TEXT    NOT NULL   -- truncated to 200 characters
);

CREATE INDEX user_sessions_by_user ON user_sessions (user_id);

-- One-time links that create the first admin. Only the SHA-256 of the token is kept;
-- the link itself is printed once on the server's console.
CREATE TABLE setup_tokens (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,  -- unix seconds
    used_at     TEXT
);
