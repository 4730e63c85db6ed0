//! Approval requests: someone who may promote asks, an approver approves (for a slot)
//! or rejects, the deployment it lets through consumes it.

use super::*;
use slipway_model::error::AppError;
use slipway_model::RequestId;

slipway_model::vocabulary! {
    /// Where a request is in its life.
    RequestState {
        /// Waiting for an approver.
        Pending => "pending",
        /// Approved for a slot; counts inside it while the stage runs its base SHA.
        Approved => "approved",
        /// Rejected, with a reason.
        Rejected => "rejected",
        /// Used by the deployment it let through.
        Consumed => "consumed",
        /// Approved, but it stopped counting unused (its slot ended, or the stage's
        /// current SHA changed) and the SHA was requested again.
        Expired => "expired",
    }
}

/// A stored approval request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    pub id: RequestId,
    pub pipeline: String,
    pub stage: String,
    pub sha: Sha,
    /// Who asked (name and id: four eyes compares ids).
    pub requested_by: String,
    pub requested_by_id: UserId,
    pub note: Option<String>,
    /// The checklist items the requester confirmed (for a server-started deploy).
    pub checklist: Option<Vec<String>>,
    /// What the requester acknowledged (for a server-started deploy).
    pub acks: slipway_model::acks::Acknowledgements,
    pub requested_at: OffsetDateTime,
    pub state: RequestState,
    /// Who approved or rejected.
    pub decided_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    /// A rejection's reason.
    pub decision_reason: Option<String>,
    /// The approved slot (start inclusive, end exclusive).
    pub slot: Option<(OffsetDateTime, OffsetDateTime)>,
    /// The server starts the deploy itself at the slot's start.
    pub auto_start: bool,
    /// Why the slot lies outside the deploy windows, where it does.
    pub outside_windows_reason: Option<String>,
    /// The stage's current SHA when approved.
    pub base_sha: Option<Sha>,
    /// The deployment that consumed it.
    pub deployment: Option<DeploymentId>,
    /// When the server tried to start the deploy, and what came of it.
    pub auto_started_at: Option<OffsetDateTime>,
    pub auto_start_result: Option<String>,
}

/// A request to store.
#[derive(Debug, Clone)]
pub struct NewApprovalRequest {
    pub pipeline: PipelineId,
    pub stage: StageId,
    pub sha: Sha,
    pub by: UserId,
    pub note: Option<String>,
    pub checklist: Option<Vec<String>>,
    pub acks: slipway_model::acks::Acknowledgements,
}

/// An approver's decision.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Approve for `[from, until)`.
    Approve {
        from: OffsetDateTime,
        until: OffsetDateTime,
        auto_start: bool,
        outside_windows_reason: Option<String>,
    },
    /// Reject, saying why.
    Reject { reason: String },
}

/// The check a decision runs inside its transaction, on the request as stored.
pub type DecisionCheck<'a> = &'a (dyn Fn(&ApprovalRecord) -> Result<(), AppError> + Send + Sync);

/// Approval requests per (pipeline, stage, SHA).
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Stores a pending request; an approved one of the SHA there that no longer counts
    /// (slot over, or the stage's current SHA changed) is marked expired first;
    /// `Conflict` when the SHA still has an open one there.
    async fn request_approval(&self, new: &NewApprovalRequest) -> StorageResult<ApprovalRecord>;

    /// One request.
    async fn approval_request(&self, id: RequestId) -> StorageResult<Option<ApprovalRecord>>;

    /// Approves or rejects a pending request by `by`, if `check` passes on it as read in
    /// the same transaction; an approval records the stage's current SHA.
    async fn decide(
        &self,
        id: RequestId,
        by: UserId,
        decision: &Decision,
        check: DecisionCheck<'_>,
    ) -> Result<ApprovalRecord, CheckedError>;

    /// A pipeline's requests (of one stage, if given): open ones, and those decided or
    /// consumed in the last day, newest first.
    async fn approval_requests(
        &self,
        pipeline: &PipelineId,
        stage: Option<&StageId>,
    ) -> StorageResult<Vec<ApprovalRecord>>;

    /// Approved requests asking for a server start whose slot has begun and not ended,
    /// not yet tried.
    async fn due_auto_starts(&self, now: OffsetDateTime) -> StorageResult<Vec<ApprovalRecord>>;

    /// Approved requests asking for a server start whose slot ended without the start
    /// being tried (the server was not running through it).
    async fn missed_auto_starts(&self, now: OffsetDateTime) -> StorageResult<Vec<ApprovalRecord>>;

    /// Marks an auto-start as tried (once: false if another process took it).
    async fn claim_auto_start(&self, id: RequestId, now: OffsetDateTime) -> StorageResult<bool>;

    /// Records what came of an auto-start, with its audit entry in the same transaction
    /// (whoever sees the result finds the entry).
    async fn auto_start_result(
        &self,
        id: RequestId,
        result: &str,
        audit: NewAudit,
    ) -> StorageResult<()>;
}

impl ApprovalRecord {
    /// An approved request that can no longer let anything through: its slot is over, or
    /// the stage's current SHA is no longer the one it was approved against.
    pub fn lapsed(&self, now: OffsetDateTime, current: Option<&Sha>) -> bool {
        self.state == RequestState::Approved
            && (self.slot.is_some_and(|(_, until)| until <= now)
                || self.base_sha.as_ref() != current)
    }
}
