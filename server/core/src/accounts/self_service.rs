//! What users do to their own account: change their password, see and end their
//! login sessions, create and revoke API tokens. Each change is audited under their
//! name.

use super::{account_entry, audit_own, login, new_password, passwords, storage_error, tokens};
use crate::authz::internal;
use crate::store::{ApiToken, Attempt, Settled, User};
use crate::{audit, Services};
use passwords::Password;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::error::AppError;
use slipway_model::throttle;
use slipway_model::{LoginId, TokenId};

/// Creates a token for `user`; returns it with its plaintext, which is never stored.
pub async fn create_token(
    state: &Services,
    user: &User,
    name: &str,
) -> Result<(ApiToken, String), AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::BadRequest(
            "give the token a name of 1 to 100 characters (e.g. \"CI on main\")".into(),
        ));
    }
    let plaintext = tokens::generate();
    let token = state
        .storage
        .create_token(
            user.id,
            name,
            &tokens::hash(&plaintext),
            &tokens::display_prefix(&plaintext),
        )
        .await?;
    audit_own(
        state.storage.as_ref(),
        user,
        AuditAction::TokenCreated,
        format!("token #{} ({})", token.id, token.prefix),
        Some(name.to_owned()),
    )
    .await;
    Ok((token, plaintext))
}

/// Revokes one of `user`'s own tokens.
pub async fn revoke_token(state: &Services, user: &User, id: TokenId) -> Result<(), AppError> {
    if state.storage.revoke_token(user.id, id).await? {
        audit_own(
            state.storage.as_ref(),
            user,
            AuditAction::TokenRevoked,
            format!("token #{id}"),
            None,
        )
        .await;
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "you have no active token #{id}"
        )))
    }
}

/// The three fields of a password change form.
pub struct PasswordChange {
    /// The password in use now (the temporary one after a reset).
    pub current: String,
    /// The new password.
    pub new: String,
    /// The new password again.
    pub confirm: String,
    /// Whether their API tokens are revoked too.
    pub tokens: super::admin::Tokens,
}

/// A user changes their own password: the current one must be right (a wrong one
/// counts as a failed login for the throttle), the new one must follow the rules and
/// differ from it. Every other session of theirs ends; `keep` (this one) stays.
pub async fn change_own_password(
    state: &Services,
    user: &User,
    keep: Option<LoginId>,
    client: &str,
    change: PasswordChange,
) -> Result<(), AppError> {
    if change.new != change.confirm {
        return Err(AppError::BadRequest(
            "the two new passwords differ; type the same one twice".into(),
        ));
    }
    // A wrong current password counts as a failed login: the throttle is shared, and the
    // attempt is counted before the password is checked (see `login::reserve_attempt`).
    let storage = state.storage.as_ref();
    let account = user.name.as_str().to_lowercase();
    let attempt = match login::reserve_attempt(storage, &account, client).await? {
        Attempt::Throttled(wait) => {
            return Err(AppError::BadRequest(format!(
                "too many wrong passwords; try again in {}",
                throttle::describe_wait(wait)
            )))
        }
        Attempt::Reserved(id) => id,
    };
    let creds = storage
        .credentials_by_name(&user.name)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let checked = passwords::verify(
        Some(creds.password_hash),
        Password::candidate(change.current.clone()),
    )
    .await;
    let settled = match checked {
        Ok(true) => Settled::Succeeded,
        Ok(false) => Settled::Failed,
        Err(_) => Settled::NotTried,
    };
    storage
        .settle_login_attempt(attempt, &account, settled)
        .await?;
    if !checked? {
        let entry = account_entry(
            Some(user.name.to_string()),
            AuditAction::PasswordChanged,
            user.name.as_str(),
            Outcome::Refused,
            Some("wrong current password".into()),
        );
        audit::record(state.storage.as_ref(), entry).await;
        return Err(AppError::BadRequest(
            "the current password is wrong; nothing was changed".into(),
        ));
    }
    if change.new == change.current {
        return Err(AppError::BadRequest(
            "the new password must differ from the current one".into(),
        ));
    }
    let hash = passwords::hash(new_password(change.new)?)
        .await
        .map_err(internal)?;
    state
        .storage
        .set_password(user.id, &hash, false)
        .await
        .map_err(storage_error)?;
    let ended = state.storage.end_login_sessions_of(user.id, keep).await?;
    let revoked = match change.tokens {
        super::admin::Tokens::Revoke => state.storage.revoke_tokens_of(user.id).await?,
        super::admin::Tokens::Keep => 0,
    };
    audit_own(
        state.storage.as_ref(),
        user,
        AuditAction::PasswordChanged,
        user.name.to_string(),
        Some(format!(
            "{ended} other session(s) ended; {revoked} API token(s) revoked"
        )),
    )
    .await;
    Ok(())
}

/// Ends one of `user`'s own sessions (from the "active sessions" list).
pub async fn end_own_session(state: &Services, user: &User, id: LoginId) -> Result<(), AppError> {
    if state.storage.end_login_session(user.id, id).await? {
        audit_own(
            state.storage.as_ref(),
            user,
            AuditAction::SessionEnded,
            format!("session #{id}"),
            None,
        )
        .await;
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "you have no open session #{id}"
        )))
    }
}

/// A short description of a browser from its User-Agent ("Firefox on Linux"), for the
/// sessions list; the raw string is kept in storage.
pub fn describe_user_agent(ua: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("reqwest", "reqwest"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => format!("a browser on {o}"),
        (None, None) => {
            let short: String = ua.chars().take(40).collect();
            if short.trim().is_empty() {
                "unknown browser".to_owned()
            } else {
                short
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_summarised_for_the_sessions_list() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_user_agent(firefox), "Firefox on Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(describe_user_agent(edge), "Edge on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_user_agent(safari), "Safari on iOS");
        assert_eq!(describe_user_agent(""), "unknown browser");
        assert_eq!(describe_user_agent("curl/8.5.0"), "curl");
    }
}
