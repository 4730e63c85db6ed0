-- Board events for live updates (server-sent events). The id is the SSE event id:
-- stored, it survives a restart, so a browser resumes with Last-Event-ID and misses
-- nothing. Old rows are pruned; a client further behind than what is kept gets a
-- resync event and reloads the board.

CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT    NOT NULL,
    pipeline_id  TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    data         TEXT    NOT NULL
);
