//! Failed logins, for the login throttle.

use super::*;

/// Failed logins, counted per account and per client address by the login throttle.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Records a failed login (account name lowercased by the caller).
    async fn record_login_failure(&self, account: &str, client: &str, at: f64)
        -> StorageResult<()>;

    /// Times of failed logins since `since` for an account and for a client address.
    async fn login_failures(
        &self,
        account: &str,
        client: &str,
        since: f64,
    ) -> StorageResult<(Vec<f64>, Vec<f64>)>;

    /// Forgets an account's failures (after a successful login).
    async fn clear_login_failures(&self, account: &str) -> StorageResult<()>;
}
