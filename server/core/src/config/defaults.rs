//! Every value `slipway.toml` may leave out, and the smallest value it may give, in one
//! place: the documented defaults are read here, not hunted for in the validator.

use slipway_model::{Role, RoleSet};
use std::net::SocketAddr;
use std::time::Duration;

/// The longest duration any key may give (ten years, in seconds): beyond it, deadlines
/// computed from the value would overflow the calendar.
pub const MAX_DURATION_SECS: i64 = 10 * 365 * 24 * 3600;

/// `listen`: loopback only, so a fresh install is not reachable from the network until
/// the operator says so.
pub const LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 3000);

/// `data_dir`: this folder, relative to the config file's folder.
pub const DATA_DIR: &str = "data";

/// The SQLite file inside `data_dir` when `database_url` is not given.
pub const DATABASE_FILE: &str = "slipway.db";

/// `sessions.inactivity_minutes`: 12 hours, a working day without logging in again.
pub const SESSION_INACTIVITY: Duration = Duration::from_secs(12 * 3600);
/// Smallest `sessions.inactivity_minutes` (minutes).
pub const SESSION_INACTIVITY_MIN_MINUTES: i64 = 1;

/// `sessions.absolute_hours`: a week, however active the session (a stolen cookie
/// cannot be kept alive forever by using it).
pub const SESSION_ABSOLUTE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Smallest `sessions.absolute_hours` (hours).
pub const SESSION_ABSOLUTE_MIN_HOURS: i64 = 1;

/// `cluster.replica_timeout_seconds`: a replica that has not heartbeated for this long
/// is dead; its deployments are interrupted within about this long after it died.
pub const REPLICA_TIMEOUT: Duration = Duration::from_secs(30);
/// Smallest `cluster.replica_timeout_seconds` (a heartbeat goes out six times per
/// timeout; below this, a slow database round trip could look like a death).
pub const REPLICA_TIMEOUT_MIN_SECS: i64 = 2;

/// `shutdown_grace_seconds`: how long running deploys may finish at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Smallest `shutdown_grace_seconds` (seconds; 0 cancels deploys at once).
pub const SHUTDOWN_GRACE_MIN_SECS: i64 = 0;

/// `http.header_timeout_seconds`: a client has this long to send a request's headers
/// (and an idle keep-alive connection is closed after it), so slow or half-open
/// connections cannot pile up.
pub const HTTP_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Smallest `http.header_timeout_seconds`.
pub const HTTP_HEADER_TIMEOUT_MIN_SECS: i64 = 1;

/// Smallest `http.max_connections` (its default is derived from the process's file
/// descriptor limit at start: see the server's `listen` module).
pub const HTTP_MAX_CONNECTIONS_MIN: i64 = 8;
/// Largest `http.max_connections`: far beyond what one process serves.
pub const HTTP_MAX_CONNECTIONS_MAX: i64 = 1_000_000;

/// `http.drain_seconds`: at shutdown, open requests get this long to finish before
/// their connections are closed (idle connections close at once).
pub const HTTP_DRAIN: Duration = Duration::from_secs(10);
/// Smallest `http.drain_seconds`.
pub const HTTP_DRAIN_MIN_SECS: i64 = 0;

/// `pipelines[].branch`.
pub const BRANCH: &str = "main";

/// `pipelines[].fetch_interval_seconds`: a minute between background fetches.
pub const FETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Smallest `fetch_interval_seconds` (seconds), so a typo cannot hammer the git host.
pub const FETCH_INTERVAL_MIN_SECS: i64 = 5;

/// `deployer.timeout_seconds`: half an hour before a deploy is ended (TERM, then KILL).
pub const DEPLOY_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Smallest `deployer.timeout_seconds` (seconds).
pub const DEPLOY_TIMEOUT_MIN_SECS: i64 = 1;

/// `deployer.max_log_bytes`: how much of a deployer's output is stored (and shown)
/// per deployment; the rest is dropped, counted and said so. 10 MiB is far beyond any
/// log a person reads and bounds what one chatty deploy costs the database and pages.
pub const DEPLOY_MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;
/// Smallest `deployer.max_log_bytes`.
pub const DEPLOY_MAX_LOG_BYTES_MIN: i64 = 1024;

/// `stages[].production` when no stage of the pipeline sets it: only the last stage
/// is production (then `fast_forward_only` defaults to `production`).
pub fn production(is_last_stage: bool) -> bool {
    is_last_stage
}

/// `stages[].rollback_roles`: those who may promote into the stage and may roll back
/// at all (ops and admin), so limiting a stage's promotions limits its rollbacks too.
pub fn rollback_roles(promote_roles: RoleSet) -> RoleSet {
    let may_roll_back: RoleSet = [Role::Ops, Role::Admin].into_iter().collect();
    promote_roles.intersection(may_roll_back)
}

/// `stages[].promote_roles`: ops alone into production, QA and ops elsewhere.
pub fn promote_roles(production: bool) -> RoleSet {
    if production {
        [Role::Ops].into_iter().collect()
    } else {
        [Role::Qa, Role::Ops].into_iter().collect()
    }
}

/// `stages[].approval.valid_minutes`: how long an approval "for now" lasts (4 hours).
pub const APPROVAL_VALID: Duration = Duration::from_secs(4 * 60 * 60);

/// `stages[].approval.four_eyes`: the approver may not be the requester.
pub const APPROVAL_FOUR_EYES: bool = true;

/// `pipelines[].calendars[].refresh_minutes`: how often a feed is read again.
pub const CALENDAR_REFRESH: Duration = Duration::from_secs(15 * 60);

/// `migrations`: the folders Rails, Django, sqlx, Flyway-style layouts and most
/// frameworks keep migrations in. `migrations = []` turns the check off.
pub const MIGRATIONS: &[&str] = &["migrations/**", "db/migrate/**", "**/migrations/**"];

/// `deployer.retry.max_attempts`: the first attempt and two retries.
pub const RETRY_MAX_ATTEMPTS: i64 = 3;
/// The most attempts a deployer may be given: retrying more hides a real outage.
pub const RETRY_MAX_ATTEMPTS_MAX: i64 = 10;
/// `deployer.retry.backoff_seconds`: the wait before the first retry.
pub const RETRY_BACKOFF: Duration = Duration::from_secs(10);
/// Smallest `deployer.retry.backoff_seconds`.
pub const RETRY_BACKOFF_MIN_SECS: i64 = 1;
/// The longest wait between two attempts, however many doublings.
pub const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(600);

/// `health.interval_seconds`: how often a stage's health probe runs.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(30);
/// Smallest `interval_seconds` of a probe.
pub const PROBE_INTERVAL_MIN_SECS: i64 = 1;
/// `health.timeout_seconds`: how long one probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Smallest `timeout_seconds` of a probe.
pub const PROBE_TIMEOUT_MIN_SECS: i64 = 1;
/// A probe's last answer is trusted for this many intervals; older, the health is
/// unknown (the server was down, or the probe hangs).
pub const PROBE_TRUSTED_INTERVALS: u32 = 3;

/// `version.verify_timeout_seconds`: how long a deployment may stay verifying.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(300);
/// Smallest `verify_timeout_seconds`.
pub const VERIFY_TIMEOUT_MIN_SECS: i64 = 1;
/// `smoke.timeout_seconds`: how long a smoke command may run.
pub const SMOKE_TIMEOUT: Duration = Duration::from_secs(300);

/// `deployer.http.poll_interval_seconds`: how often a CD system's status URL is read.
pub const HTTP_DEPLOYER_POLL: Duration = Duration::from_secs(5);
/// How often a GitHub Actions deployer reads its workflow run.
pub const GITHUB_ACTIONS_POLL: Duration = Duration::from_secs(5);
/// How often an external deployer reads its GitHub Deployment's statuses (a
/// `deployment_status` webhook wakes it sooner).
pub const GITHUB_EXTERNAL_POLL: Duration = Duration::from_secs(15);

/// An artifact check may take this long; longer counts as "not there yet".
pub const ARTIFACT_TIMEOUT: Duration = Duration::from_secs(10);

/// A promotion queued for its artifact waits this long for it, then expires.
pub const ARTIFACT_WAIT: Duration = Duration::from_secs(60 * 60);

/// A queued promotion asks for its artifact again after this long at first…
pub const ARTIFACT_POLL_FIRST: Duration = Duration::from_secs(5);

/// …doubling up to this.
pub const ARTIFACT_POLL_MAX: Duration = Duration::from_secs(60);

/// The board asks again for an artifact it did not find at most this often.
pub const ARTIFACT_RECHECK: Duration = Duration::from_secs(15);

/// A webhook receiver has this long to answer.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// A delivery is tried at most this many times…
pub const WEBHOOK_MAX_ATTEMPTS: i64 = 6;

/// …the second time after this long, doubling for each further one (10 s, 20 s, 40 s,
/// 80 s, 160 s: about five minutes in all).
pub const WEBHOOK_BACKOFF: Duration = Duration::from_secs(10);

/// Delivered and failed webhook deliveries are kept this long (for the admins' list),
/// then deleted; the audit log keeps what happened.
pub const WEBHOOK_KEEP: Duration = Duration::from_secs(30 * 24 * 3600);
