//! Webhook deliveries: the outbox's cursor over the audit log, and each delivery with
//! its attempts.

use super::*;

/// A delivery to store.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub pipeline: String,
    pub webhook: String,
    pub event: String,
    pub audit_id: i64,
    pub url: String,
    pub body: String,
}

slipway_model::vocabulary! {
    /// Where a delivery is.
    DeliveryState {
        /// Not answered with a 2xx yet; tried again at `next_attempt_at`.
        Pending => "pending",
        /// Answered with a 2xx.
        Delivered => "delivered",
        /// Given up: the last attempt failed, or the receiver refused it (a 4xx).
        Failed => "failed",
    }
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub pipeline: String,
    pub webhook: String,
    pub event: String,
    pub audit_id: i64,
    pub url: String,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub state: DeliveryState,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub last_attempt_at: Option<OffsetDateTime>,
    pub last_result: Option<String>,
}

/// What an attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    /// Where the delivery is now.
    pub state: DeliveryState,
    /// What the attempt got ("HTTP 200", "HTTP 503", "no answer within 10s").
    pub result: String,
    /// When to try again (pending only).
    pub next_attempt_at: OffsetDateTime,
}

/// Deliveries of outgoing webhooks.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// The last audit entry the outbox has read; on first use, the newest entry (the
    /// history before webhooks existed is not sent).
    async fn webhook_cursor(&self) -> StorageResult<i64>;

    /// Audit entries after `after`, oldest first, at most `limit`.
    async fn audit_after(&self, after: i64, limit: i64) -> StorageResult<Vec<AuditEntry>>;

    /// Stores `deliveries` and moves the cursor from `seen` to `through`, in one
    /// transaction; false (nothing stored) when another process moved it first.
    async fn enqueue_deliveries(
        &self,
        seen: i64,
        through: i64,
        deliveries: &[NewDelivery],
    ) -> StorageResult<bool>;

    /// Pending deliveries due at `now`, oldest first, at most `limit`.
    async fn due_deliveries(&self, now: OffsetDateTime, limit: i64)
        -> StorageResult<Vec<Delivery>>;

    /// Takes a due delivery for an attempt: counts it and moves its next attempt to
    /// `lease` (so nobody else takes it meanwhile), if it was tried `seen_attempts` times.
    async fn claim_delivery(
        &self,
        id: i64,
        seen_attempts: i64,
        lease: OffsetDateTime,
    ) -> StorageResult<bool>;

    /// Records what an attempt came to.
    async fn delivery_result(&self, id: i64, result: &AttemptResult) -> StorageResult<()>;

    /// The newest deliveries, at most `limit`, for admins.
    async fn deliveries(&self, limit: i64) -> StorageResult<Vec<Delivery>>;

    /// Deletes the delivered and failed deliveries stored before `before` (pending ones
    /// stay, whatever their age); returns how many.
    async fn prune_deliveries(&self, before: OffsetDateTime) -> StorageResult<u64>;
}
