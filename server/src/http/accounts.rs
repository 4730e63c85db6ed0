//! Form handlers for accounts: the admin's user management, a user's own password and
//! sessions, and the first-admin setup form. Each parses, calls
//! [`slipway_core::accounts`] (which checks the policy and
//! audits) and redirects with a one-time message, or shows a secret once.

use super::actions::{finish, redirect_with, user};
use super::auth::start_login;
use super::client::ClientAddr;
use super::error::HttpError;
use super::extract::PagePath;
use super::shown_once::{self, Secret};
use axum::extract::{RawForm, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use slipway_app::ssr::context::{CurrentLogin, CurrentUser};
use slipway_core::accounts::{self, Actor, PasswordChange, Tokens};
use slipway_core::Services;
use slipway_model::error::AppError;
use slipway_model::LoginId;
use tower_sessions::Session;

const USERS: &str = "/admin/users";

/// A form's fields as (name, value) pairs; repeated names (role checkboxes) kept.
fn fields(form: &RawForm) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&form.0).into_owned().collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn roles_in(fields: &[(String, String)]) -> Vec<&str> {
    fields
        .iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The page that hands a generated temporary password to the admin.
fn temporary_password_page(name: &str, password: &str, what: &str) -> Response {
    shown_once::page(
        format!("{what} “{name}”"),
        password,
        Secret::TemporaryPassword,
        (USERS, "Back to users"),
    )
}

/// `POST /admin/users`: creates a user with a temporary password (shown once).
pub async fn create_user(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    form: RawForm,
) -> Result<Response, HttpError> {
    let admin = user(u)?;
    let fields = fields(&form);
    let result = async {
        let roles = accounts::parse_roles(&roles_in(&fields))?;
        accounts::create_user(
            state.storage.as_ref(),
            Actor::User(&admin),
            field(&fields, "name"),
            roles,
            None,
        )
        .await
    }
    .await;
    match result {
        Ok((created, Some(password))) => Ok(temporary_password_page(
            created.name.as_str(),
            &password,
            "New user",
        )),
        other => finish(
            &state,
            other,
            |(created, _)| (format!("Created {}", created.name), USERS.into()),
            USERS.into(),
        ),
    }
}

/// `POST /admin/users/roles`: replaces a user's roles.
pub async fn set_roles(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    form: RawForm,
) -> Result<Response, HttpError> {
    let admin = user(u)?;
    let fields = fields(&form);
    let name = field(&fields, "name");
    let result = async {
        let roles = accounts::parse_roles(&roles_in(&fields))?;
        accounts::set_roles(state.storage.as_ref(), Actor::User(&admin), name, roles).await
    }
    .await;
    finish(
        &state,
        result,
        |u| {
            (
                format!("{} now has roles {}", u.name, u.roles),
                USERS.into(),
            )
        },
        USERS.into(),
    )
}

/// A form naming one user.
#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

/// `POST /admin/users/disable`: disables a user and ends their sessions.
pub async fn disable(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    Form(f): Form<NameForm>,
) -> Result<Response, HttpError> {
    set_disabled(state, u, f, true).await
}

/// `POST /admin/users/enable`: lets a disabled user log in again.
pub async fn enable(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    Form(f): Form<NameForm>,
) -> Result<Response, HttpError> {
    set_disabled(state, u, f, false).await
}

async fn set_disabled(
    state: Services,
    u: CurrentUser,
    f: NameForm,
    disabled: bool,
) -> Result<Response, HttpError> {
    let admin = user(u)?;
    let result = accounts::set_disabled(
        state.storage.as_ref(),
        Actor::User(&admin),
        &f.name,
        disabled,
    )
    .await;
    finish(
        &state,
        result,
        |u| {
            let message = if disabled {
                format!("Disabled {}; their sessions have ended", u.name)
            } else {
                format!("Enabled {}", u.name)
            };
            (message, USERS.into())
        },
        USERS.into(),
    )
}

/// The reset form: whom, and whether to keep their API tokens (unchecked: revoke).
#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    keep_tokens: Option<String>,
}

/// `POST /admin/users/reset-password`: a temporary password (shown once); the user
/// must change it at next login, their sessions end now and, unless the admin ticked
/// *keep their API tokens*, their tokens are revoked.
pub async fn reset_password(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    Form(f): Form<ResetForm>,
) -> Result<Response, HttpError> {
    let admin = user(u)?;
    let tokens = match f.keep_tokens {
        Some(_) => Tokens::Keep,
        None => Tokens::Revoke,
    };
    let result = accounts::reset_password(
        state.storage.as_ref(),
        Actor::User(&admin),
        &f.name,
        None,
        tokens,
    )
    .await;
    match result {
        Ok((target, Some(password))) => Ok(temporary_password_page(
            target.name.as_str(),
            &password,
            "Temporary password for",
        )),
        other => finish(
            &state,
            other,
            |(target, _)| (format!("Password of {} reset", target.name), USERS.into()),
            USERS.into(),
        ),
    }
}

/// The password change form.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
    /// The *also revoke my API tokens* checkbox.
    #[serde(default)]
    revoke_tokens: Option<String>,
}

/// `POST /password`: a user changes their own password; their other sessions end.
pub async fn change_password(
    State(state): State<Services>,
    ClientAddr(peer): ClientAddr,
    Extension(u): Extension<CurrentUser>,
    Extension(CurrentLogin(login)): Extension<CurrentLogin>,
    Form(f): Form<PasswordForm>,
) -> Result<Response, HttpError> {
    let me = user(u)?;
    let result = accounts::change_own_password(
        &state,
        &me,
        login,
        &peer.to_string(),
        PasswordChange {
            current: f.current,
            new: f.new,
            confirm: f.confirm,
            tokens: match f.revoke_tokens {
                Some(_) => Tokens::Revoke,
                None => Tokens::Keep,
            },
        },
    )
    .await;
    finish(
        &state,
        result,
        |()| {
            (
                "Password changed; your other sessions have ended".into(),
                "/profile".into(),
            )
        },
        "/password".into(),
    )
}

/// `POST /profile/sessions/{id}/end`: ends one of your sessions (this one: log out).
pub async fn end_session(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    Extension(CurrentLogin(login)): Extension<CurrentLogin>,
    session: Session,
    PagePath(id): PagePath<LoginId>,
) -> Result<Response, HttpError> {
    let me = user(u)?;
    let result = accounts::end_own_session(&state, &me, id).await;
    if result.is_ok() && login == Some(id) {
        session
            .flush()
            .await
            .map_err(|e| HttpError::Internal(anyhow::anyhow!("failed to end the session: {e}")))?;
        return Ok(Redirect::to("/login?notice=logged-out").into_response());
    }
    finish(
        &state,
        result,
        |()| (format!("Session #{id} ended"), "/profile".into()),
        "/profile".into(),
    )
}

/// The setup form.
#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /setup`: uses the one-time link to create the first admin, and logs them in.
pub async fn setup(
    State(state): State<Services>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
    session: Session,
    Form(f): Form<SetupForm>,
) -> Result<Response, HttpError> {
    let back = {
        let token = url::form_urlencoded::byte_serialize(f.token.as_bytes()).collect::<String>();
        format!("/setup?token={token}")
    };
    let created = accounts::complete_setup(
        state.storage.as_ref(),
        &f.token,
        &f.name,
        f.password,
        f.confirm,
    )
    .await;
    let admin = match created {
        Ok(u) => u,
        Err(e @ AppError::BadRequest(_)) => {
            return Ok(redirect_with(&state, &back, "error", e.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    start_login(&state, &session, &admin, &peer.to_string(), &headers).await?;
    tracing::info!(user = %admin.name, "first admin created through the setup link");
    Ok(redirect_with(
        &state,
        USERS,
        "notice",
        format!(
            "Welcome, {}: you are the first admin. Create your team's accounts here.",
            admin.name
        ),
    ))
}
