//! Freezes declared at run time (by ops, in the page or the API): time ranges that close
//! stages. Freezes in the config are read from the config, never stored.

use super::*;
use slipway_model::FreezeId;

/// A stored freeze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freeze {
    pub id: FreezeId,
    pub pipeline: String,
    /// The stages it closes; empty: every stage of the pipeline.
    pub stages: Vec<String>,
    /// Start (inclusive, UTC).
    pub from: OffsetDateTime,
    /// End (exclusive, UTC): the earlier of its planned end and when someone ended it.
    pub until: OffsetDateTime,
    pub reason: String,
    /// Who declared it.
    pub by: Option<String>,
    /// Who ended it early, if someone did.
    pub ended_by: Option<String>,
    /// The iCalendar feed it came from; `None`: declared by someone.
    pub source: Option<String>,
}

impl Freeze {
    /// Whether it closes `stage`.
    pub fn closes(&self, stage: &str) -> bool {
        self.stages.is_empty() || self.stages.iter().any(|s| s == stage)
    }
}

/// A freeze to declare.
#[derive(Debug, Clone)]
pub struct NewFreeze {
    pub pipeline: PipelineId,
    /// Empty: every stage.
    pub stages: Vec<StageId>,
    pub from: OffsetDateTime,
    pub until: OffsetDateTime,
    pub reason: String,
    /// Who declared it; `None` for a feed's.
    pub by: Option<UserId>,
}

/// Freezes per pipeline.
#[async_trait]
pub trait FreezeStore: Send + Sync {
    /// Declares a freeze.
    async fn create_freeze(&self, new: &NewFreeze) -> StorageResult<Freeze>;

    /// Replaces the freezes read from feed `source` for a pipeline with `freezes`, in one
    /// transaction.
    async fn replace_feed_freezes(
        &self,
        pipeline: &PipelineId,
        source: &str,
        freezes: &[NewFreeze],
    ) -> StorageResult<()>;

    /// Ends a freeze now (it stops closing anything); `None` if there is no such freeze,
    /// it is over already, or it comes from a feed (which says when it ends).
    async fn end_freeze(&self, id: FreezeId, by: UserId) -> StorageResult<Option<Freeze>>;

    /// A pipeline's freezes that end after `after` (in force or to come), by start.
    async fn freezes(
        &self,
        pipeline: &PipelineId,
        after: OffsetDateTime,
    ) -> StorageResult<Vec<Freeze>>;
}
