//! What each stage's version probe says it runs, and drift from the recorded SHA.

use super::*;

/// A stage that runs something other than its recorded SHA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub stage: String,
    /// What its version probe reports.
    pub runs: String,
    /// Its recorded SHA when the drift was seen.
    pub recorded: Sha,
    pub since: OffsetDateTime,
}

/// What a probe's answer changed about a stage's drift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftChange {
    /// As before.
    Unchanged,
    /// Drift seen for the first time (or something else than the drift before).
    Seen(Drift),
    /// The drift that held ended.
    Ended(Drift),
}

/// What an answer says about drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading<'a> {
    /// The stage runs its recorded SHA (or has none to compare with).
    InSync,
    /// It runs `runs`, not `recorded`.
    Drifted { runs: &'a str, recorded: &'a Sha },
    /// Nothing can be said (no SHA in the answer, or a deployment is under way): the
    /// drift stays as it was.
    Unknown,
}

/// Versions per stage.
#[async_trait]
pub trait VersionStore: Send + Sync {
    /// Records a version probe's answer: `reported` (`None`: the answer named no SHA,
    /// `detail` says why) and what it says about drift.
    async fn record_version(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        reported: Option<&str>,
        detail: &str,
        reading: Reading<'_>,
    ) -> StorageResult<DriftChange>;

    /// The drifts holding in a pipeline.
    async fn drifts(&self, pipeline: &PipelineId) -> StorageResult<Vec<Drift>>;
}
