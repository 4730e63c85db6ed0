//! Notifications for one user about what they asked for.

use super::*;

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub at: OffsetDateTime,
    pub text: String,
    /// A path on this server it is about.
    pub link: Option<String>,
    pub read: bool,
}

/// Per-user notifications.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Adds one for `user`.
    async fn notify(&self, user: UserId, text: &str, link: Option<&str>) -> StorageResult<()>;

    /// The newest `limit` of `user`'s.
    async fn notifications(&self, user: UserId, limit: i64) -> StorageResult<Vec<Notification>>;

    /// How many of `user`'s are unread.
    async fn unread_notifications(&self, user: UserId) -> StorageResult<i64>;

    /// Marks all of `user`'s read.
    async fn mark_notifications_read(&self, user: UserId) -> StorageResult<()>;
}
