//! GitHub's webhook deliveries: recorded once each, then processed by one process.

use super::*;

/// A recorded delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubDelivery {
    /// `X-GitHub-Delivery`.
    pub delivery: String,
    /// `X-GitHub-Event`.
    pub event: String,
    pub body: String,
    pub received_at: OffsetDateTime,
    pub outcome: Option<String>,
}

/// GitHub's webhook deliveries.
#[async_trait]
pub trait GitHubStore: Send + Sync {
    /// Records a delivery; false when one with this id was recorded before (GitHub
    /// redelivers, and so do people).
    async fn record_github_delivery(
        &self,
        delivery: &str,
        event: &str,
        body: &str,
    ) -> StorageResult<bool>;

    /// Recorded deliveries not taken yet, oldest first.
    async fn pending_github_deliveries(&self, limit: i64) -> StorageResult<Vec<GitHubDelivery>>;

    /// Takes a delivery for processing (false: another process took it).
    async fn take_github_delivery(&self, delivery: &str) -> StorageResult<bool>;

    /// Records what came of a delivery.
    async fn github_delivery_outcome(&self, delivery: &str, outcome: &str) -> StorageResult<()>;

    /// One delivery.
    async fn github_delivery(&self, delivery: &str) -> StorageResult<Option<GitHubDelivery>>;

    /// Deletes the processed deliveries received before `before` (GitHub redelivers
    /// within days, so older ids need not be remembered); returns how many.
    async fn prune_github_deliveries(&self, before: OffsetDateTime) -> StorageResult<u64>;
}
