-- Notifications for one user: what happened to something they asked for (an approval
-- granted or rejected, a deploy the server started or could not start for them).
-- Shown on their profile page until they mark them read.
CREATE TABLE notifications (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users (id),
    at       TEXT    NOT NULL,
    text     TEXT    NOT NULL,
    -- A path on this server that the notification is about.
    link     TEXT,
    read_at  TEXT
);
CREATE INDEX notifications_by_user ON notifications (user_id, id);
