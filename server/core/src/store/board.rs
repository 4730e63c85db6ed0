//! Ready marks, stage locks and the ancestry cache: the board's state besides deployments.

use super::*;

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

/// A lock on a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// The locked stage.
    pub stage: String,
    /// Who holds it.
    pub by: String,
    pub reason: String,
    pub at: OffsetDateTime,
    /// Until when, if it expires.
    pub expires_at: Option<OffsetDateTime>,
}

/// What a board shows besides deployments: ready marks, locks, and the permanent ancestry cache.
#[async_trait]
pub trait BoardStore: Send + Sync {
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

    /// A pipeline's ready marks on `shas`, and its `newest` latest marks whatever their
    /// SHA; newest first, each once.
    async fn ready_marks(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
        newest: i64,
    ) -> StorageResult<Vec<ReadyMark>>;

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
}
