-- API tokens: created by a user on their profile page, shown once, stored only as a
-- SHA-256 hash (tokens are 160+ bits of randomness, so a fast hash is enough), acting
-- with the roles of the user who owns them, revocable.

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    -- The first characters, so users can tell their tokens apart.
    prefix        TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);

CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
