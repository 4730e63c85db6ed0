//! The storage layer: the only place SQL lives.
//!
//! Everything above it talks to [`Storage`], a trait with one implementation per
//! database. SQLite ([`sqlite::SqliteStorage`]) is the embedded default; PostgreSQL
//! (for several replicas) will be a second implementation of the same trait, run
//! against the same integration tests. Rows come back as domain types, never as
//! sqlx types, so callers do not depend on the driver.

pub mod sqlite;

use async_trait::async_trait;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::deployment::{DeploymentKind, DeploymentState};
use slipway_model::gates::GateResult;
use slipway_model::{PipelineId, RoleSet, Sha, StageId, UserName};
use time::OffsetDateTime;

/// A user's database id.
pub type UserId = i64;

/// A user as everything above the storage layer sees them. Deliberately carries no
/// password hash: that lives only in [`Credentials`], which is never serialisable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Database id (stored in the session).
    pub id: UserId,
    /// Login name.
    pub name: UserName,
    /// Roles held.
    pub roles: RoleSet,
    /// Disabled users cannot log in, and their sessions stop working.
    pub disabled: bool,
    /// When the user last logged in (UTC).
    pub last_login_at: Option<OffsetDateTime>,
    /// Set by an admin's password reset: nothing but choosing a new password is
    /// allowed until it is cleared.
    pub must_change_password: bool,
}

/// One login session, as the user's "active sessions" list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSession {
    /// Id, kept in the session record and shown in the list.
    pub id: i64,
    /// Whose session it is.
    pub user_id: UserId,
    /// When the user logged in.
    pub created_at: OffsetDateTime,
    /// The absolute end (unix seconds), whatever the activity.
    pub expires_at: i64,
    /// The last request (updated at most once a minute).
    pub last_seen_at: OffsetDateTime,
    /// The client address at login.
    pub client: String,
    /// The browser's User-Agent at login (truncated).
    pub user_agent: String,
}

impl LoginSession {
    /// Whether requests carrying this session are still accepted at `now` (unix s).
    pub fn is_open_at(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

/// Why the first admin could not be created through a setup link.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Unknown token, already used, or older than an hour.
    #[error("this setup link is invalid, already used or expired")]
    InvalidLink,
    /// An active admin exists already (someone else finished setup).
    #[error("an administrator already exists; log in instead")]
    AdminExists,
    /// The chosen name is taken.
    #[error("{0}")]
    NameTaken(String),
    /// Anything else.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A user with their password hash: only for verifying a login.
pub struct Credentials {
    /// The user.
    pub user: User,
    /// The argon2id PHC string.
    pub password_hash: String,
}

/// Everything that can go wrong in storage. Callers map `Conflict`/`NotFound` to
/// 4xx answers; `Database` is an internal error whose details are logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness rule was violated (e.g. the user name is taken).
    #[error("{0}")]
    Conflict(String),
    /// The row does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Any other database failure.
    #[error("database error: {0:#}")]
    Database(#[from] anyhow::Error),
}

/// Shorthand for storage results.
pub type StorageResult<T> = Result<T, StorageError>;

/// A SHA marked ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyMark {
    /// The SHA.
    pub sha: Sha,
    /// Who marked it.
    pub by: String,
    /// Optional note.
    pub note: Option<String>,
    /// When (UTC).
    pub at: OffsetDateTime,
}

/// A deployment row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Id (shown as #id).
    pub id: i64,
    /// Pipeline config id.
    pub pipeline: String,
    /// Stage config id.
    pub stage: String,
    /// What it deploys.
    pub sha: Sha,
    /// The stage's current SHA when it was created.
    pub previous_sha: Option<Sha>,
    /// Promote, rollback or redeploy.
    pub kind: DeploymentKind,
    /// Where it is in its life.
    pub state: DeploymentState,
    /// Who asked for it (user name).
    pub requested_by: Option<String>,
    /// Why (rollbacks carry a reason).
    pub reason: Option<String>,
    /// When it was created (UTC).
    pub created_at: OffsetDateTime,
    /// When the deployer started.
    pub started_at: Option<OffsetDateTime>,
    /// When it ended.
    pub finished_at: Option<OffsetDateTime>,
    /// The deployer's exit code.
    pub exit_code: Option<i32>,
    /// The deployer's process group while it runs.
    pub pgid: Option<i32>,
}

/// What to create.
#[derive(Debug, Clone)]
pub struct NewDeployment {
    /// Pipeline.
    pub pipeline: PipelineId,
    /// Target stage.
    pub stage: StageId,
    /// The stage before it, if any (for the previous-stage facts).
    pub previous_stage: Option<StageId>,
    /// SHA to deploy.
    pub sha: Sha,
    /// Why.
    pub kind: DeploymentKind,
    /// Who.
    pub requested_by: UserId,
    /// Free-text reason.
    pub reason: Option<String>,
}

/// A lock on a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// The locked stage.
    pub stage: String,
    /// Who holds it.
    pub by: String,
    /// Why.
    pub reason: String,
    /// Since when.
    pub at: OffsetDateTime,
    /// Until when, if it expires.
    pub expires_at: Option<OffsetDateTime>,
}

/// The facts about one stage (and a candidate SHA) that gates need, read together.
#[derive(Debug, Clone, Default)]
pub struct StageSnapshot {
    /// The latest succeeded deployment (its SHA is the stage's current SHA).
    pub current: Option<Deployment>,
    /// A queued or running deployment.
    pub active: Option<Deployment>,
    /// The latest ended deployment (success or not).
    pub last_finished: Option<Deployment>,
    /// A lock in force.
    pub lock: Option<Lock>,
    /// The candidate succeeded on the previous stage.
    pub previous_succeeded: bool,
    /// The candidate was rolled back on the previous stage since.
    pub previous_rolled_back: bool,
    /// The candidate is marked ready.
    pub marked_ready: bool,
}

/// A stored log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Position in the log (1, 2, …).
    pub seq: i64,
    /// When it arrived (UTC).
    pub at: OffsetDateTime,
    /// `stdout`, `stderr` or `slipway` (lines Slipway adds).
    pub stream: String,
    /// The text.
    pub line: String,
}

/// An audit record to append.
#[derive(Debug, Clone)]
pub struct NewAudit {
    /// Who (user name), if anyone.
    pub actor: Option<String>,
    /// What was done.
    pub action: AuditAction,
    /// Pipeline concerned.
    pub pipeline: Option<String>,
    /// Stage concerned.
    pub stage: Option<String>,
    /// SHA concerned.
    pub sha: Option<String>,
    /// Other target (deployment id, user name).
    pub target: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// One line of detail (refusal reason…).
    pub detail: Option<String>,
}

impl NewAudit {
    /// An entry for `action` ending in `outcome`, with nothing else filled in.
    pub fn new(action: AuditAction, outcome: Outcome) -> Self {
        Self {
            actor: None,
            action,
            pipeline: None,
            stage: None,
            sha: None,
            target: None,
            outcome,
            detail: None,
        }
    }
}

/// Which audit entries to read; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact actor name.
    pub actor: Option<String>,
    /// Exact action (`promote`, `login`…).
    pub action: Option<String>,
    /// Exact pipeline id.
    pub pipeline: Option<String>,
    /// Exact outcome (`ok`, `refused`…).
    pub outcome: Option<String>,
    /// Only entries with a smaller id (paging backwards).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Id (monotonic).
    pub id: i64,
    /// When (UTC).
    pub at: OffsetDateTime,
    /// Who.
    pub actor: Option<String>,
    /// What.
    pub action: String,
    /// Pipeline.
    pub pipeline: Option<String>,
    /// Stage.
    pub stage: Option<String>,
    /// SHA.
    pub sha: Option<String>,
    /// Other target.
    pub target: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Detail.
    pub detail: Option<String>,
}

/// Why a deployment was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateDeploymentError {
    /// A gate refused, evaluated on the facts read inside the transaction.
    #[error("{}", .0.reason)]
    Refused(GateResult),
    /// The facts changed since the caller computed ancestry (the current SHA moved).
    #[error("the stage changed while the promotion was being checked; try again")]
    Stale,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The gate check run inside the creating transaction.
pub type GateCheck<'a> =
    &'a (dyn Fn(&StageSnapshot) -> Result<(), CreateDeploymentError> + Send + Sync);

/// An API token as its owner sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: UserId,
    /// Name given at creation.
    pub name: String,
    /// First characters, for recognition.
    pub prefix: String,
    /// Created (UTC).
    pub created_at: OffsetDateTime,
    /// Last used (UTC).
    pub last_used_at: Option<OffsetDateTime>,
    /// Revoked (UTC).
    pub revoked_at: Option<OffsetDateTime>,
}

/// A stored board event (the payload is JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Monotonic id (the SSE event id).
    pub id: i64,
    /// Pipeline it concerns.
    pub pipeline: String,
    /// `board`, `deployment` or `log`.
    pub kind: String,
    /// JSON payload.
    pub data: String,
}

/// The one interface to persistence.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Succeeds when the database answers and every migration is applied (`/readyz`).
    async fn check_ready(&self) -> StorageResult<()>;

    /// Creates a user; `Conflict` if the name is taken (case-insensitively).
    /// `must_change_password` marks a password an admin chose or generated.
    async fn create_user(
        &self,
        name: &UserName,
        password_hash: &str,
        roles: RoleSet,
        must_change_password: bool,
    ) -> StorageResult<User>;

    /// Replaces a user's password hash.
    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        must_change: bool,
    ) -> StorageResult<()>;

    /// Replaces a user's roles. Refused (`Conflict`) if no enabled admin would remain,
    /// checked in the same transaction, so two admins demoting each other at once
    /// cannot lock everyone out.
    async fn set_roles(&self, id: UserId, roles: RoleSet) -> StorageResult<()>;

    /// Disables or re-enables a user. Disabling the last enabled admin is refused
    /// (`Conflict`), in the same transaction.
    async fn set_disabled(&self, id: UserId, disabled: bool) -> StorageResult<()>;

    /// Whether any enabled user holds the admin role.
    async fn has_active_admin(&self) -> StorageResult<bool>;

    /// Opens a login session for `user`, ending absolutely at `expires_at` (unix s).
    async fn create_login_session(
        &self,
        user: UserId,
        expires_at: i64,
        client: &str,
        user_agent: &str,
    ) -> StorageResult<LoginSession>;

    /// A login session by id (open or not).
    async fn login_session(&self, id: i64) -> StorageResult<Option<LoginSession>>;

    /// Records activity on a session.
    async fn touch_login_session(&self, id: i64, at: OffsetDateTime) -> StorageResult<()>;

    /// `user`'s sessions that are still open at `now` (unix s), newest first.
    async fn open_login_sessions(&self, user: UserId, now: i64)
        -> StorageResult<Vec<LoginSession>>;

    /// Ends one of `user`'s sessions (its row goes: a session without a row is
    /// refused); `false` if it is not theirs or already ended.
    async fn end_login_session(&self, user: UserId, id: i64) -> StorageResult<bool>;

    /// Ends all of `user`'s open sessions but `except`; returns how many.
    async fn end_login_sessions_of(&self, user: UserId, except: Option<i64>) -> StorageResult<u64>;

    /// Stores a new setup token's hash (valid until `expires_at`, unix s) and drops
    /// every unused earlier one: only the newest printed link works.
    async fn create_setup_token(&self, token_hash: &str, expires_at: i64) -> StorageResult<()>;

    /// Whether a setup token is unused and unexpired at `now` (unix s).
    async fn setup_token_is_valid(&self, token_hash: &str, now: i64) -> StorageResult<bool>;

    /// In one transaction: consumes the setup token, checks that no enabled admin
    /// exists, and creates `name` as an admin.
    async fn create_first_admin(
        &self,
        token_hash: &str,
        now: i64,
        name: &UserName,
        password_hash: &str,
    ) -> Result<User, SetupError>;

    /// Looks a user up by login name, with the hash, for verifying a login.
    async fn credentials_by_name(&self, name: &UserName) -> StorageResult<Option<Credentials>>;

    /// Looks a user up by id (every authenticated request does this).
    async fn user_by_id(&self, id: UserId) -> StorageResult<Option<User>>;

    /// Looks a user up by name.
    async fn user_by_name(&self, name: &UserName) -> StorageResult<Option<User>>;

    /// Every user, by name.
    async fn list_users(&self) -> StorageResult<Vec<User>>;

    /// Records a successful login.
    async fn record_login(&self, id: UserId, at: OffsetDateTime) -> StorageResult<()>;

    /// Marks a SHA ready; false if it already was.
    async fn mark_ready(
        &self,
        pipeline: &PipelineId,
        sha: &Sha,
        by: UserId,
        note: Option<&str>,
    ) -> StorageResult<bool>;

    /// Removes a ready mark; false if there was none.
    async fn unmark_ready(&self, pipeline: &PipelineId, sha: &Sha) -> StorageResult<bool>;

    /// Every ready mark of a pipeline, newest first.
    async fn ready_marks(&self, pipeline: &PipelineId) -> StorageResult<Vec<ReadyMark>>;

    /// Reads a stage's facts for `sha` (outside any transaction: for display).
    async fn stage_snapshot(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        previous_stage: Option<&StageId>,
        sha: Option<&Sha>,
    ) -> StorageResult<StageSnapshot>;

    /// In one write transaction: reads the stage's facts, runs `check` on them, and
    /// inserts the deployment (queued) if it passes. The partial unique index on active
    /// deployments makes a concurrent second insert fail; that is reported as the busy gate.
    async fn create_deployment(
        &self,
        new: &NewDeployment,
        check: GateCheck<'_>,
    ) -> Result<Deployment, CreateDeploymentError>;

    /// Queued → running, recording the process group.
    async fn mark_running(&self, id: i64, pgid: i32, at: OffsetDateTime) -> StorageResult<bool>;

    /// Active → an end state; false if it had already ended.
    async fn finish_deployment(
        &self,
        id: i64,
        state: DeploymentState,
        exit_code: Option<i32>,
        at: OffsetDateTime,
    ) -> StorageResult<bool>;

    /// One deployment.
    async fn deployment(&self, id: i64) -> StorageResult<Option<Deployment>>;

    /// Deployments left queued or running (by a previous process, at start-up).
    async fn unfinished_deployments(&self) -> StorageResult<Vec<Deployment>>;

    /// A stage's most recent deployments, newest first.
    async fn stage_history(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        limit: i64,
    ) -> StorageResult<Vec<Deployment>>;

    /// A stage's succeeded deployments, newest first, older than `before_id` if given:
    /// (id, sha). Bounded by `limit`, so callers page instead of reading all history.
    async fn stage_successes(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        before_id: Option<i64>,
        limit: i64,
    ) -> StorageResult<Vec<(i64, Sha)>>;

    /// For each of `shas`, the stages where it ever succeeded: (sha, stage).
    async fn successes(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<(Sha, String)>>;

    /// For each of `shas`, the stages where it was rolled back since its last success.
    async fn rolled_back(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<(Sha, String)>>;

    /// Appends a log line.
    async fn append_log(
        &self,
        deployment: i64,
        seq: i64,
        at: OffsetDateTime,
        stream: &str,
        line: &str,
    ) -> StorageResult<()>;

    /// Log lines after `after_seq`, at most `limit`.
    async fn log_lines(
        &self,
        deployment: i64,
        after_seq: i64,
        limit: i64,
    ) -> StorageResult<Vec<LogLine>>;

    /// Locks a stage; `Conflict` (naming the holder) if a lock is in force.
    async fn lock_stage(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        by: UserId,
        reason: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> StorageResult<()>;

    /// Removes a lock, returning it (None if there was none).
    async fn unlock_stage(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
    ) -> StorageResult<Option<Lock>>;

    /// Locks in force on a pipeline's stages.
    async fn locks(&self, pipeline: &PipelineId) -> StorageResult<Vec<Lock>>;

    /// Appends to the audit log.
    async fn audit(&self, entry: NewAudit) -> StorageResult<()>;

    /// The newest audit entries (at most `limit`).
    async fn audit_entries(&self, limit: i64) -> StorageResult<Vec<AuditEntry>> {
        self.audit_query(&AuditFilter {
            limit,
            ..AuditFilter::default()
        })
        .await
    }

    /// Audit entries matching `filter`, newest first.
    async fn audit_query(&self, filter: &AuditFilter) -> StorageResult<Vec<AuditEntry>>;

    /// A cached ancestry answer.
    async fn cached_ancestry(
        &self,
        pipeline: &PipelineId,
        ancestor: &Sha,
        descendant: &Sha,
    ) -> StorageResult<Option<bool>>;

    /// Caches an ancestry answer forever.
    async fn cache_ancestry(
        &self,
        pipeline: &PipelineId,
        ancestor: &Sha,
        descendant: &Sha,
        is_ancestor: bool,
    ) -> StorageResult<()>;

    /// Stores a new token (hash and display prefix only).
    async fn create_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        prefix: &str,
    ) -> StorageResult<ApiToken>;

    /// A user's tokens, newest first.
    async fn tokens_of(&self, user: UserId) -> StorageResult<Vec<ApiToken>>;

    /// Revokes one of `user`'s tokens; false if there is no such active token.
    async fn revoke_token(&self, user: UserId, id: i64) -> StorageResult<bool>;

    /// The user an active token belongs to (and records its use).
    async fn user_by_token(&self, token_hash: &str) -> StorageResult<Option<User>>;

    /// Appends an event and returns it with its id.
    async fn append_event(
        &self,
        pipeline: &str,
        kind: &str,
        data: &str,
    ) -> StorageResult<StoredEvent>;

    /// Events after `after_id` (optionally of one pipeline), oldest first, at most `limit`.
    async fn events_after(
        &self,
        after_id: i64,
        pipeline: Option<&str>,
        limit: i64,
    ) -> StorageResult<Vec<StoredEvent>>;

    /// The oldest and newest event ids still kept ((0, 0) when there are none).
    async fn event_id_range(&self) -> StorageResult<(i64, i64)>;

    /// Deletes all but the newest `keep` events.
    async fn prune_events(&self, keep: i64) -> StorageResult<u64>;

    /// Records a failed login (account name lowercased by the caller).
    async fn record_login_failure(&self, account: &str, client: &str, at: f64)
        -> StorageResult<()>;

    /// Times of failed logins since `since` for an account and for a client address.
    async fn login_failures(
        &self,
        account: &str,
        client: &str,
        since: f64,
    ) -> StorageResult<(Vec<f64>, Vec<f64>)>;

    /// Forgets an account's failures (after a successful login).
    async fn clear_login_failures(&self, account: &str) -> StorageResult<()>;

    /// Deletes sessions whose expiry has passed (run periodically).
    async fn delete_expired_sessions(&self) -> StorageResult<u64>;
}
