//! Each probed stage's health: the last answer of its probe, and since when the status
//! holds.

use super::*;

/// A stage's health as last probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageHealth {
    pub stage: String,
    pub healthy: bool,
    /// What the probe said ("HTTP 200", "HTTP 503", "connection refused", "exit code 1: …").
    pub detail: String,
    /// When the status last changed.
    pub since: OffsetDateTime,
    /// When the probe last answered.
    pub checked_at: OffsetDateTime,
}

/// Health per stage.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// Records a probe's answer; returns the status it had before (`None`: never
    /// probed), so the caller can announce a change.
    async fn record_health(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        healthy: bool,
        detail: &str,
    ) -> StorageResult<Option<bool>>;

    /// The pipeline's probed stages.
    async fn pipeline_health(&self, pipeline: &PipelineId) -> StorageResult<Vec<StageHealth>>;
}
