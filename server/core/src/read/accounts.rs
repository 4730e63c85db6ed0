//! The account pages' read models: the user list admins manage, and a user's own
//! profile (sessions and API tokens). Neither ever carries a secret: tokens show their
//! prefix only.

use crate::accounts::{self, describe_user_agent, Actor};
use crate::store::User;
use crate::Services;
use slipway_model::error::AppError;
use slipway_model::time_fmt::{age, until};
use slipway_model::views::{NotificationRow, ProfileView, SessionRow, TokenRow, UserRow};
use slipway_model::LoginId;

/// Every user with their roles, for an admin (`me`).
pub async fn users(state: &Services, me: &User) -> Result<Vec<UserRow>, AppError> {
    let now = state.now().unix_timestamp();
    let users = accounts::list_users(state.storage.as_ref(), Actor::User(me)).await?;
    Ok(users
        .into_iter()
        .map(|u| UserRow {
            name: u.name.to_string(),
            roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            disabled: u.disabled,
            last_login: u.last_login_at.map(|t| age(now - t.unix_timestamp())),
            must_change_password: u.must_change_password,
            is_you: u.id == me.id,
        })
        .collect())
}

/// `user`'s profile: their open sessions (marking `current_login`, the request's own)
/// and their API tokens.
pub async fn profile(
    state: &Services,
    user: &User,
    current_login: Option<LoginId>,
) -> Result<ProfileView, AppError> {
    let at = state.now();
    let now = at.unix_timestamp();
    let tokens = state.storage.tokens_of(user.id).await?;
    let inactivity =
        time::Duration::try_from(state.config.session_inactivity).unwrap_or(time::Duration::MAX);
    // Idle ones are no longer honoured either, though their rows stay until their end.
    let mut sessions = state.storage.open_login_sessions(user.id, now).await?;
    sessions.retain(|s| s.is_open_at(at, inactivity));
    let notifications = state.storage.notifications(user.id, 50).await?;
    Ok(ProfileView {
        notifications: notifications
            .into_iter()
            .map(|n| NotificationRow {
                text: n.text,
                link: n.link,
                age: age(now - n.at.unix_timestamp()),
                unread: !n.read,
            })
            .collect(),
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                id: s.id,
                started: age(now - s.created_at.unix_timestamp()),
                last_seen: age(now - s.last_seen_at.unix_timestamp()),
                client: s.client,
                browser: describe_user_agent(&s.user_agent),
                expires: until(s.expires_at - now),
                current: current_login == Some(s.id),
            })
            .collect(),
        name: user.name.to_string(),
        roles: user.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                id: t.id,
                name: t.name,
                prefix: t.prefix,
                created: age(now - t.created_at.unix_timestamp()),
                last_used: t.last_used_at.map(|u| age(now - u.unix_timestamp())),
                revoked: t.revoked_at.is_some(),
            })
            .collect(),
    })
}
