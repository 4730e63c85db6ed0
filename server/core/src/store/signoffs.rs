//! Sign-offs: "someone allowed tested this SHA on this stage". Read by the next stage's
//! *signed off* gate; written, withdrawn and voided behind checks run inside the
//! transaction that changes them.

use super::*;
use slipway_model::error::AppError;

/// A sign-off, in force or ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOffRecord {
    /// The stage it was given on.
    pub stage: String,
    /// The SHA signed off.
    pub sha: Sha,
    /// Who signed off.
    pub by: String,
    /// Their note, if any.
    pub note: Option<String>,
    /// When (UTC).
    pub at: OffsetDateTime,
    /// How it ended, if it did.
    pub ended: Option<SignOffEnd>,
}

/// How a sign-off stopped counting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOffEnd {
    /// Withdrawn by someone, or voided by a rollback.
    pub how: SignOffEndKind,
    /// Who withdrew it (a rollback's voiding names its requester).
    pub by: Option<String>,
    /// Why.
    pub reason: String,
    /// When (UTC).
    pub at: OffsetDateTime,
}

/// Why a sign-off ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOffEndKind {
    /// Someone allowed took it back.
    Withdrawn,
    /// A rollback on its stage took the SHA off.
    Voided,
}

impl SignOffEndKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignOffEndKind::Withdrawn => "withdrawn",
            SignOffEndKind::Voided => "voided",
        }
    }
}

/// What a sign-off command is checked against, read inside its transaction.
#[derive(Debug, Clone)]
pub struct SignOffFacts {
    /// The SHA's latest finished deployment on the stage succeeded.
    pub succeeded_here: bool,
    /// It was rolled back on the stage since.
    pub rolled_back_here: bool,
    /// The sign-off in force, if any.
    pub in_force: Option<SignOffRecord>,
    /// The SHA is queued, running or succeeded on the next stage.
    pub moved_on: bool,
}

/// The check a sign-off command runs on [`SignOffFacts`] inside its transaction.
pub type SignOffCheck<'a> = &'a (dyn Fn(&SignOffFacts) -> Result<(), AppError> + Send + Sync);

/// Why a checked command did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CheckedError {
    /// The check refused, on the facts read inside the transaction.
    #[error("{0}")]
    Refused(AppError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A refusal is the caller's answer; a storage failure goes the one way every storage
/// failure reaches a user (`From<StorageError>`).
impl From<CheckedError> for AppError {
    fn from(e: CheckedError) -> Self {
        match e {
            CheckedError::Refused(e) => e,
            CheckedError::Storage(e) => e.into(),
        }
    }
}

/// Which sign-off a command is about.
#[derive(Debug, Clone, Copy)]
pub struct SignOffKey<'a> {
    pub pipeline: &'a PipelineId,
    /// The stage it is given on.
    pub stage: &'a StageId,
    /// The stage after it (where "moved on" is read).
    pub next_stage: &'a StageId,
    pub sha: &'a Sha,
}

/// Sign-offs per (pipeline, stage, SHA).
#[async_trait]
pub trait SignOffStore: Send + Sync {
    /// Signs `key.sha` off if `check` passes on the facts read in the same transaction.
    async fn sign_off(
        &self,
        key: SignOffKey<'_>,
        by: UserId,
        note: Option<&str>,
        check: SignOffCheck<'_>,
    ) -> Result<SignOffRecord, CheckedError>;

    /// Withdraws the sign-off in force if `check` passes on the facts read in the same
    /// transaction; returns it, ended.
    async fn withdraw_sign_off(
        &self,
        key: SignOffKey<'_>,
        by: UserId,
        reason: &str,
        check: SignOffCheck<'_>,
    ) -> Result<SignOffRecord, CheckedError>;

    /// The sign-offs in force on a pipeline for any of `shas` (one read for a board).
    async fn sign_offs_in_force(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<SignOffRecord>>;

    /// Every sign-off given on a stage, ended ones included, newest first.
    async fn sign_off_history(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        limit: i64,
    ) -> StorageResult<Vec<SignOffRecord>>;
}
