//! Logging in and staying logged in, apart from forms and cookies.
//!
//! [`authenticate`] checks a name and password the way an attacker learns least from:
//! the throttle is consulted before any password work, an unknown or disabled user
//! costs the same argon2 verification as a known one (equal time), and every refusal
//! is audited under the name that was typed. [`resume`] honours a login from a
//! session cookie only while its login row is open, within its absolute lifetime and
//! its user enabled. The web layer keeps only the HTTP glue around both.

use super::passwords::{self, Password};
use crate::audit;
use crate::authz::internal;
use crate::store::{Attempt, LoginSession, NewAudit, Resumed, Settled, Storage, User, UserId};
use crate::Services;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::error::AppError;
use slipway_model::{throttle, LoginId, UserName};
use std::time::Duration;

/// Why a name and password did not log anyone in.
#[derive(Debug)]
pub enum LoginRefusal {
    /// The name or the password was left empty.
    Incomplete,
    /// Too many recent failures for this account or client: retry after this long.
    Throttled(Duration),
    /// Unknown user, disabled user or wrong password: told apart for nobody.
    WrongCredentials,
    /// Storage or hashing failed (already logged).
    Internal(AppError),
}

impl From<AppError> for LoginRefusal {
    fn from(e: AppError) -> Self {
        LoginRefusal::Internal(e)
    }
}

/// At most one audit entry per client address per this long for throttled attempts;
/// the next one says how many were refused in between. (An attacker hammering the
/// login form must not be able to flood the append-only audit log.)
pub const THROTTLE_AUDIT_EVERY: Duration = Duration::from_secs(60);

/// Counts a password attempt of `account` from `client` before any password work, or
/// says how long to wait. Counting first, in the same transaction as the check, is what
/// keeps forty simultaneous guesses from all passing a check made before any of them
/// failed. Login and password change share it; the caller [settles](Storage::settle_login_attempt)
/// the attempt once the password was checked.
pub async fn reserve_attempt(
    storage: &dyn Storage,
    account: &str,
    client: &str,
) -> Result<Attempt, AppError> {
    let now = storage.clock().unix_f64();
    let since = now
        - throttle::PER_ACCOUNT
            .window
            .as_secs_f64()
            .max(throttle::PER_CLIENT.window.as_secs_f64());
    let check = move |by_account: &[f64], by_client: &[f64]| {
        [
            throttle::PER_ACCOUNT.retry_after(by_account, now),
            throttle::PER_CLIENT.retry_after(by_client, now),
        ]
        .into_iter()
        .flatten()
        .max()
    };
    Ok(storage
        .reserve_login_attempt(account, client, now, since, &check)
        .await?)
}

/// Audits a throttled attempt, aggregated per client address (see
/// [`THROTTLE_AUDIT_EVERY`]). The typed name is the entry's target, never its actor:
/// nobody was authenticated.
pub async fn audit_throttled(
    storage: &dyn Storage,
    action: AuditAction,
    typed: &str,
    client: &str,
    wait: Duration,
) {
    let now = storage.clock().unix_f64();
    match storage
        .note_throttled(client, now, THROTTLE_AUDIT_EVERY.as_secs_f64())
        .await
    {
        Ok(Some(unlogged)) => {
            let mut entry = NewAudit::new(action, Outcome::Throttled);
            entry.target = Some(typed.to_owned());
            let since = if unlogged > 0 {
                format!(
                    "; {unlogged} more throttled attempt(s) from this address since the last entry"
                )
            } else {
                String::new()
            };
            entry.detail = Some(format!(
                "from {client}; retry in {}{since}",
                throttle::describe_wait(wait)
            ));
            audit::record(storage, entry).await;
        }
        Ok(None) => tracing::debug!(client, "throttled attempt (aggregated in the audit log)"),
        Err(e) => tracing::warn!(error = %e, "failed to note a throttled attempt"),
    }
}

/// The throttle's key for a typed name: case-insensitive and bounded, so any string
/// an attacker sends is a key of at most 64 characters.
fn throttle_account(name: &str) -> String {
    name.trim().to_lowercase().chars().take(64).collect()
}

/// Checks `name` and `password` typed at the login form by `client` (its address).
/// On success the throttle's failures for the account are cleared and the login is
/// audited; the caller then [`start`]s the login.
pub async fn authenticate(
    storage: &dyn Storage,
    name: &str,
    password: &str,
    client: &str,
) -> Result<User, LoginRefusal> {
    if name.trim().is_empty() || password.is_empty() {
        return Err(LoginRefusal::Incomplete);
    }
    // Throttle (and count) before any password work, for known and unknown names alike.
    let account = throttle_account(name);
    let typed: String = name.trim().chars().take(64).collect();
    let attempt = match reserve_attempt(storage, &account, client).await? {
        Attempt::Throttled(wait) => {
            audit_throttled(storage, AuditAction::Login, &typed, client, wait).await;
            return Err(LoginRefusal::Throttled(wait));
        }
        Attempt::Reserved(id) => id,
    };
    let creds = match UserName::parse(name.trim()) {
        Ok(name) => storage.credentials_by_name(&name).await.map_err(internal)?,
        Err(_) => None,
    };
    let (hash, user) = match creds {
        Some(c) if !c.user.disabled => (Some(c.password_hash), Some(c.user)),
        _ => (None, None),
    };
    // With no hash, `verify` checks against a dummy one: the same time either way.
    let ok = match passwords::verify(hash, Password::candidate(password.to_owned())).await {
        Ok(ok) => ok,
        Err(e) => {
            // Nothing was checked (the hashers were busy): the attempt does not count.
            let _ = storage
                .settle_login_attempt(attempt, &account, Settled::NotTried)
                .await;
            return Err(LoginRefusal::Internal(e.into()));
        }
    };
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            tracing::info!(username = %name.escape_debug(), "failed login");
            let mut entry = NewAudit::new(AuditAction::Login, Outcome::Failed);
            entry.target = Some(typed);
            entry.detail = Some(format!("from {client}: wrong user name or password"));
            audit::record(storage, entry).await;
            return Err(LoginRefusal::WrongCredentials);
        }
    };
    storage
        .settle_login_attempt(attempt, &account, Settled::Succeeded)
        .await
        .map_err(internal)?;
    tracing::info!(user = %user.name, "logged in");
    let mut entry = NewAudit::new(AuditAction::Login, Outcome::Ok);
    entry.actor = Some(user.name.to_string());
    audit::record(storage, entry).await;
    Ok(user)
}

/// Starts a login of `user` from `client` with browser `user_agent`: a login session
/// row (absolute end from the config) and the user's last-login time. Login and
/// first-admin setup both end here; the caller ties the returned row to its session.
pub async fn start(
    state: &Services,
    user: &User,
    client: &str,
    user_agent: &str,
) -> Result<LoginSession, AppError> {
    let absolute = i64::try_from(state.config.session_absolute.as_secs()).unwrap_or(i64::MAX);
    let now = state.now();
    let expires = now.unix_timestamp().saturating_add(absolute);
    // The raw string is kept for the sessions list, bounded.
    let agent: String = user_agent.chars().take(200).collect();
    let login = state
        .storage
        .create_login_session(user.id, expires, client, &agent)
        .await?;
    state.storage.record_login(user.id, now).await?;
    Ok(login)
}

/// Session activity is written at most this often (seconds), not on every request
/// (more often when the allowed idle time is short).
const TOUCH_EVERY: i64 = 60;

/// Whether checking a login counts as its user's activity (which keeps it open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// A request the user made.
    Request,
    /// An open event stream checking that its login still holds: a tab left open is
    /// not activity, so it does not keep an idle login alive.
    Watch,
}

/// The login session a session cookie names, with its user, if that login is still
/// honoured now: its row exists and belongs to the user, it is within its absolute
/// lifetime and less than `session_inactivity` idle, and the user is enabled. `None`
/// means the login ended (revoked, expired, idle, user disabled, password changed) and
/// the cookie should stop working for good. One query (and a write at most once a
/// minute, recording activity).
pub async fn resume(
    state: &Services,
    user_id: UserId,
    login_id: Option<LoginId>,
    activity: Activity,
) -> Result<Option<Resumed>, AppError> {
    let Some(login_id) = login_id else {
        return Ok(None);
    };
    let Some(resumed) = state.storage.resume_login(login_id).await? else {
        return Ok(None);
    };
    let now = state.now();
    let inactivity =
        time::Duration::try_from(state.config.session_inactivity).unwrap_or(time::Duration::MAX);
    if resumed.login.user_id != user_id
        || !resumed.login.is_open_at(now, inactivity)
        || resumed.user.disabled
    {
        return Ok(None);
    }
    // Often enough that idleness is judged to a quarter of the allowed period.
    let touch_every = time::Duration::seconds(TOUCH_EVERY).min(inactivity / 4);
    if activity == Activity::Request && now - resumed.login.last_seen_at >= touch_every {
        state
            .storage
            .touch_login_session(resumed.login.id, now)
            .await?;
    }
    Ok(Some(resumed))
}

/// Records a login attempt (the typed name, even when no such user exists).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_keys_ignore_case_and_spaces_and_are_bounded() {
        assert_eq!(throttle_account("  Ada "), "ada");
        assert_eq!(throttle_account(&"x".repeat(500)).chars().count(), 64);
    }
}
