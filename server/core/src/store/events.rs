//! Stored live events: their row id is the SSE event id.

use super::*;

/// A stored board event (the payload is JSON text).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredEvent {
    /// Monotonic id (the SSE event id).
    pub id: i64,
    /// Pipeline it concerns.
    #[sqlx(rename = "pipeline_id")]
    pub pipeline: String,
    /// `board`, `deployment` or `log`.
    pub kind: String,
    /// JSON payload.
    pub data: String,
}

/// Live events, stored so that clients resume across restarts.
#[async_trait]
pub trait EventStore: Send + Sync {
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
}
