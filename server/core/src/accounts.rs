//! Accounts: administration (create, roles, disable, reset), self-service (password,
//! API tokens, sessions) and the first-admin setup link. Every change is audited;
//! admin actions check the policy here, whichever door (page, CLI) they came through.

use crate::authz::internal;
use crate::passwords::{self, Password};
use crate::storage::{ApiToken, LoginSession, NewAudit, SetupError, Storage, StorageError, User};
use crate::{audit, tokens, Services};
use slipway_model::error::AppError;
use slipway_model::{throttle, Action, Role, RoleSet, UserName};
use time::OffsetDateTime;

/// An audit entry about the account `target`.
fn account_entry(
    actor: Option<String>,
    action: &str,
    target: &str,
    outcome: &str,
    detail: Option<String>,
) -> NewAudit {
    NewAudit {
        actor,
        action: action.into(),
        target: Some(target.to_owned()),
        outcome: outcome.into(),
        detail,
        ..NewAudit::default()
    }
}

/// Audits a successful action of `user` on `target`.
async fn audit(
    state: &Services,
    user: &User,
    action: &str,
    target: String,
    detail: Option<String>,
) {
    let actor = Some(user.name.to_string());
    let entry = account_entry(actor, action, &target, "ok", detail);
    audit::record(state.storage.as_ref(), entry).await;
}

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
        .await
        .map_err(internal)?;
    audit(
        state,
        user,
        "token_created",
        format!("token #{} ({})", token.id, token.prefix),
        Some(name.to_owned()),
    )
    .await;
    Ok((token, plaintext))
}

/// Revokes one of `user`'s own tokens.
pub async fn revoke_token(state: &Services, user: &User, id: i64) -> Result<(), AppError> {
    if state
        .storage
        .revoke_token(user.id, id)
        .await
        .map_err(internal)?
    {
        audit(state, user, "token_revoked", format!("token #{id}"), None).await;
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "you have no active token #{id}"
        )))
    }
}

// ---------------------------------------------------------------------------------
// User administration (admin page and CLI), password changes, login sessions and the
// first-admin setup link.
// ---------------------------------------------------------------------------------

/// Who is changing accounts: a logged-in admin (checked against the policy here, not
/// only by the page that shows the button) or the operator at the command line (who
/// already holds the database file).
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    /// A user acting through the web UI.
    User(&'a User),
    /// `slipway user …` on the server's machine.
    CommandLine,
}

impl Actor<'_> {
    fn authorize(&self) -> Result<(), AppError> {
        match self {
            Actor::User(u) => crate::authz::authorize(u, Action::ManageUsers),
            Actor::CommandLine => Ok(()),
        }
    }

    fn is(&self, target: &User) -> bool {
        matches!(self, Actor::User(u) if u.id == target.id)
    }

    async fn audit(
        &self,
        storage: &dyn Storage,
        action: &str,
        target: &UserName,
        detail: Option<String>,
    ) {
        let (actor, detail) = match self {
            Actor::User(u) => (Some(u.name.to_string()), detail),
            Actor::CommandLine => (
                None,
                Some(match detail {
                    Some(d) => format!("{d} (command line)"),
                    None => "command line".to_owned(),
                }),
            ),
        };
        let entry = account_entry(actor, action, target.as_str(), "ok", detail);
        audit::record(storage, entry).await;
    }
}

/// Maps storage's user-fixable errors to what the user is told.
fn storage_error(e: StorageError) -> AppError {
    match e {
        StorageError::Conflict(m) => AppError::BadRequest(m),
        StorageError::NotFound(m) => AppError::NotFound(m),
        other => internal(other),
    }
}

/// Parses role names (from a form's checkboxes or the CLI), requiring at least one.
pub fn parse_roles<S: AsRef<str>>(names: &[S]) -> Result<RoleSet, AppError> {
    let roles: RoleSet = names
        .iter()
        .map(|n| Role::parse(n.as_ref().trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::BadRequest(e.to_string()))?
        .into();
    if roles.is_empty() {
        return Err(AppError::BadRequest(
            "give the user at least one role (viewer, dev, qa, ops, admin); to take all access away, disable the user instead".into(),
        ));
    }
    Ok(roles)
}

fn parse_name(name: &str) -> Result<UserName, AppError> {
    UserName::parse(name.trim()).map_err(|e| AppError::BadRequest(e.to_string()))
}

async fn find_user(storage: &dyn Storage, name: &str) -> Result<User, AppError> {
    let name = parse_name(name)?;
    storage
        .user_by_name(&name)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound(format!("there is no user named \"{name}\"")))
}

fn new_password(p: String) -> Result<Password, AppError> {
    Password::new(p).map_err(|e| AppError::BadRequest(e.to_string()))
}

/// The hash of `password`, or of a generated temporary one (returned to be shown once)
/// when an admin left the password to the server.
async fn hash_or_generate(
    password: Option<Password>,
) -> Result<(String, Option<String>), AppError> {
    let (password, temporary) = match password {
        Some(p) => (p, None),
        None => {
            let t = tokens::temporary_password();
            (new_password(t.clone())?, Some(t))
        }
    };
    let hash = passwords::hash(password).await.map_err(internal)?;
    Ok((hash, temporary))
}

/// Creates a user. Without `password`, a temporary one is generated and returned (to
/// show once), and the user must choose their own at first login.
pub async fn create_user(
    storage: &dyn Storage,
    actor: Actor<'_>,
    name: &str,
    roles: RoleSet,
    password: Option<Password>,
) -> Result<(User, Option<String>), AppError> {
    actor.authorize()?;
    let name = parse_name(name)?;
    let (hash, temporary) = hash_or_generate(password).await?;
    let user = storage
        .create_user(&name, &hash, roles, temporary.is_some())
        .await
        .map_err(storage_error)?;
    actor
        .audit(
            storage,
            "user_created",
            &user.name,
            Some(format!("roles: {}", user.roles)),
        )
        .await;
    Ok((user, temporary))
}

/// Replaces a user's roles (never leaving the instance without an enabled admin).
pub async fn set_roles(
    storage: &dyn Storage,
    actor: Actor<'_>,
    name: &str,
    roles: RoleSet,
) -> Result<User, AppError> {
    actor.authorize()?;
    let user = find_user(storage, name).await?;
    if user.roles == roles {
        return Ok(user);
    }
    storage
        .set_roles(user.id, roles)
        .await
        .map_err(storage_error)?;
    actor
        .audit(
            storage,
            "user_roles_changed",
            &user.name,
            Some(format!("{} → {}", user.roles, roles)),
        )
        .await;
    Ok(User { roles, ..user })
}

/// Disables a user (ending all their sessions at once) or enables them again.
pub async fn set_disabled(
    storage: &dyn Storage,
    actor: Actor<'_>,
    name: &str,
    disabled: bool,
) -> Result<User, AppError> {
    actor.authorize()?;
    let user = find_user(storage, name).await?;
    if disabled && actor.is(&user) {
        return Err(AppError::BadRequest(
            "you cannot disable your own account; ask another admin".into(),
        ));
    }
    if user.disabled == disabled {
        return Ok(user);
    }
    storage
        .set_disabled(user.id, disabled)
        .await
        .map_err(storage_error)?;
    let detail = if disabled {
        let ended = storage
            .end_login_sessions_of(user.id, None)
            .await
            .map_err(internal)?;
        Some(format!("{ended} open session(s) ended"))
    } else {
        None
    };
    let action = if disabled {
        "user_disabled"
    } else {
        "user_enabled"
    };
    actor.audit(storage, action, &user.name, detail).await;
    Ok(User { disabled, ..user })
}

/// Resets a user's password to `password` or, without one, to a generated temporary
/// password (returned, to show once). The user must change it at their next login,
/// and every session they have open ends now.
pub async fn reset_password(
    storage: &dyn Storage,
    actor: Actor<'_>,
    name: &str,
    password: Option<Password>,
) -> Result<(User, Option<String>), AppError> {
    actor.authorize()?;
    let user = find_user(storage, name).await?;
    if actor.is(&user) {
        return Err(AppError::BadRequest(
            "to change your own password, use the form on your profile page".into(),
        ));
    }
    let (hash, temporary) = hash_or_generate(password).await?;
    storage
        .set_password(user.id, &hash, true)
        .await
        .map_err(storage_error)?;
    let ended = storage
        .end_login_sessions_of(user.id, None)
        .await
        .map_err(internal)?;
    actor
        .audit(
            storage,
            "password_reset",
            &user.name,
            Some(format!(
                "must change it at next login; {ended} open session(s) ended"
            )),
        )
        .await;
    Ok((
        User {
            must_change_password: true,
            ..user
        },
        temporary,
    ))
}

/// The three fields of a password change form.
pub struct PasswordChange {
    /// The password in use now (the temporary one after a reset).
    pub current: String,
    /// The new password.
    pub new: String,
    /// The new password again.
    pub confirm: String,
}

/// A user changes their own password: the current one must be right (a wrong one
/// counts as a failed login for the throttle), the new one must follow the rules and
/// differ from it. Every other session of theirs ends; `keep` (this one) stays.
pub async fn change_own_password(
    state: &Services,
    user: &User,
    keep: Option<i64>,
    client: &str,
    change: PasswordChange,
) -> Result<(), AppError> {
    let account = user.name.as_str().to_lowercase();
    if let Some(wait) = throttle_wait(state, &account, client).await? {
        return Err(AppError::BadRequest(format!(
            "too many wrong passwords; try again in {}",
            throttle::describe_wait(wait)
        )));
    }
    if change.new != change.confirm {
        return Err(AppError::BadRequest(
            "the two new passwords differ; type the same one twice".into(),
        ));
    }
    let creds = state
        .storage
        .credentials_by_name(&user.name)
        .await
        .map_err(internal)?
        .ok_or(AppError::Unauthenticated)?;
    let ok = passwords::verify(
        Some(creds.password_hash),
        Password::candidate(change.current.clone()),
    )
    .await
    .map_err(internal)?;
    if !ok {
        state
            .storage
            .record_login_failure(&account, client, now_secs())
            .await
            .map_err(internal)?;
        let entry = account_entry(
            Some(user.name.to_string()),
            "password_changed",
            user.name.as_str(),
            "refused",
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
    let ended = state
        .storage
        .end_login_sessions_of(user.id, keep)
        .await
        .map_err(internal)?;
    audit(
        state,
        user,
        "password_changed",
        user.name.to_string(),
        Some(format!("{ended} other session(s) ended")),
    )
    .await;
    Ok(())
}

/// Unix time now, fractional (the throttle's clock).
pub fn now_secs() -> f64 {
    OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9
}

/// How long `account` from `client` must wait before the next password attempt, if
/// the throttle is engaged (login and password change share it).
pub async fn throttle_wait(
    state: &Services,
    account: &str,
    client: &str,
) -> Result<Option<std::time::Duration>, AppError> {
    let now = now_secs();
    let since = now
        - throttle::PER_ACCOUNT
            .window
            .as_secs_f64()
            .max(throttle::PER_CLIENT.window.as_secs_f64());
    let (by_account, by_client) = state
        .storage
        .login_failures(account, client, since)
        .await
        .map_err(internal)?;
    Ok([
        throttle::PER_ACCOUNT.retry_after(&by_account, now),
        throttle::PER_CLIENT.retry_after(&by_client, now),
    ]
    .into_iter()
    .flatten()
    .max())
}

/// Opens a login session for `user` (absolute end from the config).
pub async fn open_session(
    state: &Services,
    user: &User,
    client: &str,
    user_agent: &str,
) -> Result<LoginSession, AppError> {
    let absolute = i64::try_from(state.config.session_absolute.as_secs()).unwrap_or(i64::MAX);
    let expires = OffsetDateTime::now_utc()
        .unix_timestamp()
        .saturating_add(absolute);
    let agent: String = user_agent.chars().take(200).collect();
    state
        .storage
        .create_login_session(user.id, expires, client, &agent)
        .await
        .map_err(internal)
}

/// Ends one of `user`'s own sessions (from the "active sessions" list).
pub async fn end_own_session(state: &Services, user: &User, id: i64) -> Result<(), AppError> {
    if state
        .storage
        .end_login_session(user.id, id)
        .await
        .map_err(internal)?
    {
        audit(state, user, "session_ended", format!("session #{id}"), None).await;
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "you have no open session #{id}"
        )))
    }
}

/// How long a setup link works.
pub const SETUP_LINK_LIFETIME: time::Duration = time::Duration::hours(1);

/// If no enabled admin exists, stores a new one-time setup token (invalidating any
/// earlier link) and returns the link to print. `None` when an admin exists.
pub async fn issue_setup_link(
    storage: &dyn Storage,
    base_url: &url::Url,
) -> anyhow::Result<Option<url::Url>> {
    use anyhow::Context as _;
    if storage
        .has_active_admin()
        .await
        .context("failed to check for an admin")?
    {
        return Ok(None);
    }
    let token = tokens::generate_setup();
    let expires = (OffsetDateTime::now_utc() + SETUP_LINK_LIFETIME).unix_timestamp();
    storage
        .create_setup_token(&tokens::hash(&token), expires)
        .await
        .context("failed to store the setup link")?;
    let mut link = base_url
        .join("setup")
        .context("failed to build the setup link")?;
    link.query_pairs_mut().append_pair("token", &token);
    Ok(Some(link))
}

/// Whether `token` is a setup link that can still be used.
pub async fn setup_link_is_valid(storage: &dyn Storage, token: &str) -> Result<bool, AppError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    storage
        .setup_token_is_valid(
            &tokens::hash(token),
            OffsetDateTime::now_utc().unix_timestamp(),
        )
        .await
        .map_err(internal)
}

/// Uses a setup link: creates the first admin (the link then no longer works).
pub async fn complete_setup(
    storage: &dyn Storage,
    token: &str,
    name: &str,
    password: String,
    confirm: String,
) -> Result<User, AppError> {
    let invalid = || {
        AppError::BadRequest(
            "this setup link is invalid, already used or expired (links last an hour); restart the server to print a new one, or run `slipway user add NAME --role admin`".into(),
        )
    };
    if !setup_link_is_valid(storage, token).await? {
        return Err(invalid());
    }
    let name = parse_name(name)?;
    if password != confirm {
        return Err(AppError::BadRequest(
            "the two passwords differ; type the same one twice".into(),
        ));
    }
    let hash = passwords::hash(new_password(password)?)
        .await
        .map_err(internal)?;
    let user = storage
        .create_first_admin(
            &tokens::hash(token),
            OffsetDateTime::now_utc().unix_timestamp(),
            &name,
            &hash,
        )
        .await
        .map_err(|e| match e {
            SetupError::InvalidLink => invalid(),
            SetupError::AdminExists => AppError::BadRequest(e.to_string()),
            SetupError::NameTaken(m) => AppError::BadRequest(m),
            SetupError::Storage(e) => internal(e),
        })?;
    let entry = account_entry(
        Some(user.name.to_string()),
        "user_created",
        user.name.as_str(),
        "ok",
        Some("first admin, through the one-time setup link".into()),
    );
    audit::record(storage, entry).await;
    Ok(user)
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

    #[test]
    fn role_lists_need_at_least_one_known_role() {
        assert!(parse_roles(&["qa", "ops"]).is_ok());
        let none: [&str; 0] = [];
        let e = parse_roles(&none).unwrap_err().to_string();
        assert!(e.contains("at least one role"), "{e}");
        let e = parse_roles(&["root"]).unwrap_err().to_string();
        assert!(e.contains("root"), "{e}");
    }
}
