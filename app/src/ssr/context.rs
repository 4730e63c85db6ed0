//! What a server function may reach from its Leptos context: the [`Services`] the
//! server provides for every request, and the current user the authentication
//! middleware put into the request's extensions.

use leptos::prelude::use_context;
use slipway_core::store::User;
use slipway_core::Services;
use slipway_model::error::AppError;
use slipway_model::{Action, LoginId};

pub use slipway_core::authz::{authorize, internal};

/// The authenticated user of this request, put into the request extensions by the
/// server's authentication middleware (`None` when nobody is logged in).
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Option<User>);

/// The id of the request's login session (`user_sessions`), when logged in with a
/// cookie: lets "your sessions" mark the current one and a password change keep it.
#[derive(Clone, Copy, Debug)]
pub struct CurrentLogin(pub Option<LoginId>);

/// How many notifications the logged-in user has not read, read with the login by the
/// authentication middleware (so the page header costs no query of its own).
#[derive(Clone, Copy, Debug)]
pub struct UnreadNotifications(pub i64);

/// The current request's unread notification count, when the middleware read it.
pub fn unread_notifications() -> Option<i64> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<UnreadNotifications>().copied())
        .map(|u| u.0)
}

/// The current request's login session id, if any.
pub fn current_login() -> Option<LoginId> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CurrentLogin>().copied())
        .and_then(|c| c.0)
}

/// The shared services (provided by the server for every page and server function).
pub fn services() -> Result<Services, AppError> {
    use_context::<Services>().ok_or_else(|| internal("Services missing from the Leptos context"))
}

/// The logged-in user, if any.
pub fn current_user() -> Option<User> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CurrentUser>().cloned())
        .and_then(|c| c.0)
}

/// The logged-in user, if the policy lets them do `action`; otherwise the refusal,
/// whose HTTP status (401 or 403) the response carries: a server function's errors
/// would otherwise all be 500s, and clients and the authorization matrix tell a
/// refusal from a failure by the status.
pub fn require(action: Action) -> Result<User, AppError> {
    let allowed = current_user()
        .ok_or(AppError::Unauthenticated)
        .and_then(|user| authorize(&user, action).map(|()| user));
    if let Err(refusal) = &allowed {
        if let (Some(res), Ok(status)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            axum::http::StatusCode::from_u16(refusal.http_status()),
        ) {
            res.set_status(status);
        }
    }
    allowed
}
