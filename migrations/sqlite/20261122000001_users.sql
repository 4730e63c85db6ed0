-- Users and their roles.
--
-- Roles are a set (one row per role) rather than a ladder or a comma-separated string,
-- so adding a role to a user is an insert and the policy never parses strings.
-- Password hashes are argon2id PHC strings; there is no default user and no default
-- password: the first users come from `slipway user add` or `slipway demo`.
-- All times are UTC, stored as RFC 3339 text by sqlx's `time` support.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash  TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    disabled_at    TEXT,
    last_login_at  TEXT
);

CREATE TABLE user_roles (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     TEXT    NOT NULL CHECK (role IN ('viewer', 'dev', 'qa', 'ops', 'admin')),
    PRIMARY KEY (user_id, role)
);
