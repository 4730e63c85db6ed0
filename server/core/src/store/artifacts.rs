//! What each stage's artifact check last said about a SHA, and the promotions queued
//! to start when their artifact appears.

use super::*;
use slipway_model::acks::Acknowledgements;
use slipway_model::QueuedId;

slipway_model::vocabulary! {
    /// What an artifact check says.
    ArtifactStatus {
        /// The artifact is there.
        Present => "present",
        /// Not there yet (a 404, a non-zero exit, no answer in time).
        Missing => "missing",
        /// The check cannot tell (refused, misconfigured) until someone fixes it.
        Broken => "broken",
    }
}

/// What an artifact check last said about a SHA for a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactSeen {
    pub stage: String,
    pub sha: Sha,
    pub status: ArtifactStatus,
    /// What the check said ("HTTP 404", "exit code 1: no such chart").
    pub detail: String,
    /// When the check first did not find it (`None` once found).
    pub missing_since: Option<OffsetDateTime>,
    pub checked_at: OffsetDateTime,
}

slipway_model::vocabulary! {
    /// Where a queued promotion is in its life.
    QueueState {
        /// Waiting for its artifact.
        Waiting => "waiting",
        /// Its artifact appeared and the deployment started.
        Started => "started",
        /// Its artifact did not appear before the deadline.
        Expired => "expired",
        /// Its artifact appeared, but another gate refused the promotion then.
        Refused => "refused",
        /// Someone withdrew it.
        Withdrawn => "withdrawn",
        /// A newer request for the stage replaced it.
        Replaced => "replaced",
    }
}

/// A stored queued promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedPromotion {
    pub id: QueuedId,
    pub pipeline: String,
    pub stage: String,
    pub sha: Sha,
    pub requested_by: String,
    pub requested_by_id: UserId,
    pub requested_at: OffsetDateTime,
    /// It expires when its artifact has not appeared by then.
    pub deadline: OffsetDateTime,
    /// What the requester confirmed and acknowledged, for the deploy it starts.
    pub checklist: Option<Vec<String>>,
    pub acks: Acknowledgements,
    pub next_check_at: OffsetDateTime,
    /// How often the artifact was asked for.
    pub checks: i64,
    pub state: QueueState,
    pub ended_at: Option<OffsetDateTime>,
    pub ended_by: Option<String>,
    /// What came of it, for people.
    pub outcome: Option<String>,
    pub deployment: Option<DeploymentId>,
}

/// A promotion to queue.
#[derive(Debug, Clone)]
pub struct NewQueuedPromotion {
    pub pipeline: PipelineId,
    pub stage: StageId,
    pub sha: Sha,
    pub by: UserId,
    pub deadline: OffsetDateTime,
    pub checklist: Option<Vec<String>>,
    pub acks: Acknowledgements,
    /// Replace the stage's waiting entry, if it has one (else: refused).
    pub replace: bool,
}

/// Why a promotion was not queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The stage already has a waiting entry, and the request did not say to replace it.
    #[error("already queued")]
    Occupied(Box<QueuedPromotion>),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// How a waiting entry ends.
#[derive(Debug, Clone)]
pub struct QueueEnd {
    pub state: QueueState,
    /// Who ended it (a withdrawal), if someone did.
    pub by: Option<UserId>,
    pub outcome: String,
    pub deployment: Option<DeploymentId>,
}

/// Artifact checks' answers, and promotions waiting for an artifact.
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    /// Records what the check said now; keeps the first time it was missing.
    async fn record_artifact(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        sha: &Sha,
        status: ArtifactStatus,
        detail: &str,
    ) -> StorageResult<ArtifactSeen>;

    /// The answers about `shas` for every stage of the pipeline.
    async fn artifacts_seen(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<ArtifactSeen>>;

    /// Queues a promotion: the stage's waiting entry is marked replaced first when
    /// `replace` says so; otherwise a waiting entry refuses it.
    async fn queue_promotion(
        &self,
        new: &NewQueuedPromotion,
    ) -> Result<QueuedPromotion, QueueError>;

    /// One entry.
    async fn queued_promotion(&self, id: QueuedId) -> StorageResult<Option<QueuedPromotion>>;

    /// The pipeline's waiting entries, and those that ended in the last day, newest first.
    async fn queued_promotions(&self, pipeline: &PipelineId)
        -> StorageResult<Vec<QueuedPromotion>>;

    /// Waiting entries whose next check is due at `now`.
    async fn due_queued(&self, now: OffsetDateTime) -> StorageResult<Vec<QueuedPromotion>>;

    /// Takes a due entry for a check: moves its next check to `next` and counts the
    /// check, if it is still waiting and was checked `seen_checks` times (false: another
    /// process took it).
    async fn claim_queued(
        &self,
        id: QueuedId,
        seen_checks: i64,
        next: OffsetDateTime,
    ) -> StorageResult<bool>;

    /// Ends a waiting entry (false: it was no longer waiting).
    async fn end_queued(&self, id: QueuedId, end: &QueueEnd) -> StorageResult<bool>;
}
