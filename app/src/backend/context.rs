//! Helpers that let server functions reach the [`AppState`] and the current user from
//! Leptos context, and that turn internal errors into [`AppError`] (logging details).

use crate::backend::storage::User;
use crate::backend::AppState;
use crate::domain::Action;
use crate::error::AppError;
use leptos::prelude::use_context;

/// The authenticated user of this request, put into the request extensions by the
/// server's authentication middleware (`None` when nobody is logged in).
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Option<User>);

/// The id of the request's login session (`user_sessions`), when logged in with a
/// cookie: lets "your sessions" mark the current one and a password change keep it.
#[derive(Clone, Copy, Debug)]
pub struct CurrentLogin(pub Option<i64>);

/// The current request's login session id, if any.
pub fn current_login() -> Option<i64> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CurrentLogin>().copied())
        .and_then(|c| c.0)
}

/// The shared services.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| internal("AppState missing from the Leptos context"))
}

/// The logged-in user, if any.
pub fn current_user() -> Option<User> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CurrentUser>().cloned())
        .and_then(|c| c.0)
}

/// The logged-in user, if the policy lets them do `action`; otherwise the refusal.
pub fn require(action: Action) -> Result<User, AppError> {
    let user = current_user().ok_or(AppError::Unauthenticated)?;
    authorize(&user, action)?;
    Ok(user)
}

/// Checks the policy for an already-known user.
pub fn authorize(user: &User, action: Action) -> Result<(), AppError> {
    if action.is_permitted_for(user.roles) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "your roles ({}) do not allow you to {}",
            if user.roles.is_empty() {
                "none".to_owned()
            } else {
                user.roles.to_string()
            },
            action.describe()
        )))
    }
}

/// Logs an internal error with its full chain and returns the opaque [`AppError::Internal`].
pub fn internal(err: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %err, "internal error");
    AppError::Internal
}
