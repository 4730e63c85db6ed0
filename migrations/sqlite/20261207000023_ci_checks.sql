-- What CI said about a commit, per check name (a GitHub check run or commit status
-- context): from GitHub's `check_run` and `status` webhooks and the reconcile that asks
-- the API. `reported_at` is GitHub's time of the result, so a late, older delivery never
-- overwrites a newer answer.
CREATE TABLE ci_checks (
    pipeline     TEXT NOT NULL,
    sha          TEXT NOT NULL,
    name         TEXT NOT NULL,
    state        TEXT NOT NULL,
    url          TEXT,
    reported_at  TEXT NOT NULL,
    PRIMARY KEY (pipeline, sha, name)
);
