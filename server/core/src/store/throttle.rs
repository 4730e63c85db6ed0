//! Login attempts, for the login throttle.

use super::*;
use std::time::Duration;

/// What the throttle decided about one password attempt, taken inside the transaction
/// that counts it, so that concurrent guesses cannot all pass one check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attempt {
    /// Go ahead: the attempt is counted (as a failure, until settled) under this id.
    Reserved(i64),
    /// Too many recent failures: wait this long first.
    Throttled(Duration),
}

/// How a reserved attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The password was right: the attempt and the account's failures are forgotten.
    Succeeded,
    /// The password was wrong: the attempt stays counted.
    Failed,
    /// No password was checked (the server was too busy): the attempt is forgotten.
    NotTried,
}

/// Decides, from the times of recent failures of the account and of the client
/// address (unix seconds, fractional), whether an attempt may go ahead now.
pub type ThrottleCheck<'a> = &'a (dyn Fn(&[f64], &[f64]) -> Option<Duration> + Send + Sync);

/// Password attempts (login, password change), counted per account and per client
/// address by the login throttle.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// In one write transaction: reads the failures since `since` of `account` (the
    /// typed name, lowercased by the caller) and of `client`, runs `check` on them, and
    /// unless it throttles, counts this attempt at `at` as a failure until it is
    /// [settled](Self::settle_login_attempt). Rows older than a day are pruned.
    async fn reserve_login_attempt(
        &self,
        account: &str,
        client: &str,
        at: f64,
        since: f64,
        check: ThrottleCheck<'_>,
    ) -> StorageResult<Attempt>;

    /// Notes a throttled attempt from `client` at `at`. Returns `Some(n)` when it
    /// should be written to the audit log — the first from this client, or the first
    /// `every` seconds after the last one written — where `n` counts the refusals not
    /// written since; `None` when it is only counted.
    async fn note_throttled(&self, client: &str, at: f64, every: f64)
        -> StorageResult<Option<u64>>;

    /// Settles a reserved attempt (see [`Settled`]).
    async fn settle_login_attempt(&self, id: i64, account: &str, how: Settled)
        -> StorageResult<()>;
}
