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
use crate::store::{LoginSession, NewAudit, Storage, User, UserId};
use crate::Services;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::error::AppError;
use slipway_model::{throttle, LoginId, UserName};
use std::time::Duration;
use time::OffsetDateTime;

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

/// How long `account` from `client` must wait before the next password attempt, if
/// the throttle is engaged (login and password change share it).
pub async fn throttle_wait(
    storage: &dyn Storage,
    account: &str,
    client: &str,
) -> Result<Option<Duration>, AppError> {
    let now = storage.clock().unix_f64();
    let since = now
        - throttle::PER_ACCOUNT
            .window
            .as_secs_f64()
            .max(throttle::PER_CLIENT.window.as_secs_f64());
    let (by_account, by_client) = storage.login_failures(account, client, since).await?;
    Ok([
        throttle::PER_ACCOUNT.retry_after(&by_account, now),
        throttle::PER_CLIENT.retry_after(&by_client, now),
    ]
    .into_iter()
    .flatten()
    .max())
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
    // Throttle before any password work, for known and unknown names alike.
    let account = throttle_account(name);
    let typed: String = name.trim().chars().take(64).collect();
    if let Some(wait) = throttle_wait(storage, &account, client).await? {
        audit_login(
            storage,
            &typed,
            Outcome::Throttled,
            Some(format!(
                "from {client}; retry in {}",
                throttle::describe_wait(wait)
            )),
        )
        .await;
        return Err(LoginRefusal::Throttled(wait));
    }
    let creds = match UserName::parse(name.trim()) {
        Ok(name) => storage.credentials_by_name(&name).await.map_err(internal)?,
        Err(_) => None,
    };
    let (hash, user) = match creds {
        Some(c) if !c.user.disabled => (Some(c.password_hash), Some(c.user)),
        _ => (None, None),
    };
    // With no hash, `verify` checks against a dummy one: the same time either way.
    let ok = passwords::verify(hash, Password::candidate(password.to_owned()))
        .await
        .map_err(internal)?;
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            tracing::info!(username = %name.escape_debug(), "failed login");
            storage
                .record_login_failure(&account, client, storage.clock().unix_f64())
                .await
                .map_err(internal)?;
            audit_login(
                storage,
                &typed,
                Outcome::Failed,
                Some("wrong user name or password".into()),
            )
            .await;
            return Err(LoginRefusal::WrongCredentials);
        }
    };
    storage
        .clear_login_failures(&account)
        .await
        .map_err(internal)?;
    tracing::info!(user = %user.name, "logged in");
    audit_login(storage, user.name.as_str(), Outcome::Ok, None).await;
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

/// Session activity is written at most this often (seconds), not on every request.
const TOUCH_EVERY: i64 = 60;

/// The user and login session id a session cookie names, if that login is still
/// honoured at `now`: its row exists and belongs to the user, it is within its absolute
/// lifetime, and the user is enabled. `None` means the login ended (revoked, expired,
/// user disabled, password changed) and the cookie should stop working for good.
pub async fn resume(
    storage: &dyn Storage,
    user_id: UserId,
    login_id: Option<LoginId>,
    now: OffsetDateTime,
) -> Result<Option<(User, LoginId)>, AppError> {
    let login = match login_id {
        Some(id) => storage.login_session(id).await?,
        None => None,
    };
    let user = storage.user_by_id(user_id).await?;
    match (login, user) {
        (Some(login), Some(user))
            if login.user_id == user.id
                && login.is_open_at(now.unix_timestamp())
                && !user.disabled =>
        {
            if (now - login.last_seen_at).whole_seconds() >= TOUCH_EVERY {
                storage.touch_login_session(login.id, now).await?;
            }
            Ok(Some((user, login.id)))
        }
        _ => Ok(None),
    }
}

/// Records a login attempt (the typed name, even when no such user exists).
async fn audit_login(storage: &dyn Storage, name: &str, outcome: Outcome, detail: Option<String>) {
    let mut entry = NewAudit::new(AuditAction::Login, outcome);
    entry.actor = Some(name.to_owned());
    entry.detail = detail;
    audit::record(storage, entry).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_keys_ignore_case_and_spaces_and_are_bounded() {
        assert_eq!(throttle_account("  Ada "), "ada");
        assert_eq!(throttle_account(&"x".repeat(500)).chars().count(), 64);
    }
}
