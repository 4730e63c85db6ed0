//! Deployments and their logs. A deployment is created only inside the transaction that
//! re-reads the stage and re-runs the gates ([`DeploymentStore::create_deployment`]).

use super::*;

/// A deployment row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Id (shown as #id).
    pub id: DeploymentId,
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
    /// The checklist items the promoter confirmed (where the stage has a checklist).
    pub checklist: Option<Vec<String>>,
    /// Why it went through a closed window or a freeze (an emergency override).
    pub emergency_reason: Option<String>,
    /// The migration files the promoter acknowledged, where it crossed any.
    pub migrations: Option<MigrationsAck>,
    /// The drift it overwrote, acknowledged by the promoter.
    pub drift: Option<DriftAck>,
    /// The attempts that failed transiently and were retried, oldest first.
    pub retries: Vec<Retry>,
}

#[cfg(test)]
impl Deployment {
    /// For tests: deployment `id` of `sha` to `web`'s production stage, a promotion by
    /// olga in `state`, created at `at`, with nothing else recorded.
    pub fn example(id: i64, sha: Sha, state: DeploymentState, at: OffsetDateTime) -> Self {
        Self {
            id: DeploymentId(id),
            pipeline: "web".into(),
            stage: "production".into(),
            sha,
            previous_sha: None,
            kind: DeploymentKind::Promote,
            state,
            requested_by: Some("olga".into()),
            reason: None,
            created_at: at,
            started_at: None,
            finished_at: None,
            exit_code: None,
            pgid: None,
            checklist: None,
            emergency_reason: None,
            migrations: None,
            drift: None,
            retries: Vec::new(),
        }
    }
}

/// A drift a deployment overwrote: what the stage ran instead of its recorded SHA,
/// acknowledged by the promoter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftAck {
    /// What the version probe reported.
    pub runs: String,
    /// The promoter's note, if any.
    pub note: Option<String>,
}

/// An attempt of a deployment that failed transiently and was tried again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Retry {
    /// Which attempt failed (1 is the first).
    pub attempt: u32,
    /// Its exit code.
    pub exit_code: i32,
    /// What made it transient: `exit code 75`, or the log pattern that matched.
    pub matched: String,
    /// When it ended (Unix seconds).
    pub at: i64,
}

impl Deployment {
    /// Which attempt runs now (or ran last): 1 plus the retries so far.
    pub fn attempt(&self) -> u32 {
        u32::try_from(self.retries.len()).map_or(u32::MAX, |n| n.saturating_add(1))
    }
}

/// Migration files a deployment crosses, acknowledged by its promoter as tested against
/// a copy of production data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationsAck {
    /// The files (paths in the repository), sorted.
    pub files: Vec<String>,
    /// The promoter's note, if any.
    pub note: Option<String>,
}

/// What to create.
#[derive(Debug, Clone)]
pub struct NewDeployment {
    pub pipeline: PipelineId,
    /// Target stage.
    pub stage: StageId,
    /// The stage before it, if any (for the previous-stage facts).
    pub previous_stage: Option<StageId>,
    /// SHA to deploy.
    pub sha: Sha,
    pub kind: DeploymentKind,
    pub requested_by: UserId,
    /// Free-text reason.
    pub reason: Option<String>,
    /// The checklist items confirmed, where the stage has a checklist.
    pub checklist: Option<Vec<String>>,
    /// An emergency override's reason.
    pub emergency_reason: Option<String>,
    /// The migration files acknowledged, where it crosses any.
    pub migrations: Option<MigrationsAck>,
    /// The drift acknowledged, where it overwrites one.
    pub drift: Option<DriftAck>,
    /// The replica that will run it (the one creating it).
    pub runner: Option<ReplicaId>,
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
    /// The pipeline's probed stages (the health gate reads those the stage requires).
    pub health: Vec<StageHealth>,
    /// The stage's drift from its recorded SHA, where its version probe sees one.
    pub drift: Option<Drift>,
    /// The candidate's latest finished deployment to the previous stage succeeded.
    pub previous_succeeded: bool,
    /// The candidate succeeded on the previous stage once, but a later attempt there
    /// ended otherwise (failed, cancelled, timed out, interrupted).
    pub previous_failed_since: bool,
    /// The candidate was rolled back on the previous stage since.
    pub previous_rolled_back: bool,
    /// The candidate is marked ready.
    pub marked_ready: bool,
    /// The candidate's sign-off in force on the previous stage.
    pub previous_sign_off: Option<SignOffRecord>,
    /// Stored freezes in force on the stage at the snapshot's instant.
    pub freezes: Vec<Freeze>,
    /// The candidate's open (pending or approved) approval request for the stage.
    pub approval: Option<ApprovalRecord>,
}

/// A stored log line.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LogLine {
    /// Position in the log (1, 2, …).
    pub seq: i64,
    /// The attempt that printed it (1, 2, … where transient failures were retried).
    pub attempt: i64,
    /// When it arrived (UTC).
    pub at: OffsetDateTime,
    /// `stdout`, `stderr` or `slipway` (lines Slipway adds).
    pub stream: String,
    pub line: String,
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

/// The audit entry of a deployment, made from the row just inserted (its id, the SHA it
/// replaces) and written in the same transaction: a deployment never exists without
/// the promote or rollback entry that explains it.
pub type AuditOf<'a> = &'a (dyn Fn(&Deployment) -> super::NewAudit + Send + Sync);

/// Deployments: created behind the gate check in one transaction, moved through the state machine, their logs.
#[async_trait]
pub trait DeploymentStore: Send + Sync {
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
    /// `audit` makes the entry appended in the same transaction.
    async fn create_deployment(
        &self,
        new: &NewDeployment,
        check: GateCheck<'_>,
        audit: AuditOf<'_>,
    ) -> Result<Deployment, CreateDeploymentError>;

    /// Queued → running, recording the process group (`None`: no process of Slipway's
    /// runs it, as with the HTTP deployer).
    async fn mark_running(
        &self,
        id: DeploymentId,
        pgid: Option<i32>,
        at: OffsetDateTime,
    ) -> StorageResult<bool>;

    /// Running → verifying (the deploy command exited 0); false when it is no longer
    /// running (cancelled meanwhile).
    async fn mark_verifying(&self, id: DeploymentId) -> StorageResult<bool>;

    /// A retried attempt of a running deployment started: records its process group.
    /// False when the deployment is no longer running (cancelled meanwhile).
    async fn mark_attempt_running(&self, id: DeploymentId, pgid: i32) -> StorageResult<bool>;

    /// Records an attempt of a running deployment that failed transiently and is tried
    /// again (its process group is gone). False when it is no longer running.
    async fn record_retry(&self, id: DeploymentId, retry: &Retry) -> StorageResult<bool>;

    /// Active → an end state; false if it had already ended.
    async fn finish_deployment(
        &self,
        id: DeploymentId,
        state: DeploymentState,
        exit_code: Option<i32>,
        at: OffsetDateTime,
    ) -> StorageResult<bool>;

    /// One deployment.
    async fn deployment(&self, id: DeploymentId) -> StorageResult<Option<Deployment>>;

    /// A stage's deployments created after `since`, oldest first, at most `limit` (the
    /// oldest `limit`: callers ask for a window and say when it was cut).
    async fn stage_deployments_since(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        since: OffsetDateTime,
        limit: i64,
    ) -> StorageResult<Vec<Deployment>>;

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
        before_id: Option<DeploymentId>,
        limit: i64,
    ) -> StorageResult<Vec<(DeploymentId, Sha)>>;

    /// For each of `shas`, the stages where it ever succeeded: (sha, stage).
    async fn successes(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<(Sha, String)>>;

    /// For each of `shas`, the stages where it succeeded once but its latest finished
    /// deployment did not: it no longer counts as having passed them.
    async fn failed_since(
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

    /// How many lines a deployment's log holds, and the last one's position (0 if none).
    async fn log_size(&self, deployment: DeploymentId) -> StorageResult<(i64, i64)>;

    /// The last `limit` lines of a deployment's log, in order.
    async fn log_tail(&self, deployment: DeploymentId, limit: i64) -> StorageResult<Vec<LogLine>>;

    /// Appends a log line.
    async fn append_log(
        &self,
        deployment: DeploymentId,
        seq: i64,
        attempt: u32,
        at: OffsetDateTime,
        stream: &str,
        line: &str,
    ) -> StorageResult<()>;

    /// Log lines after `after_seq`, at most `limit`.
    async fn log_lines(
        &self,
        deployment: DeploymentId,
        after_seq: i64,
        limit: i64,
    ) -> StorageResult<Vec<LogLine>>;
}
