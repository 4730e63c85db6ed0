//! HTTP handlers and middleware that are not Leptos pages: the login and logout
//! forms, the refresh button, health checks, the Origin check and authentication.
//! Handlers are thin: they parse, ask the policy, call a backend service, redirect.

pub mod accounts;
pub mod actions;
pub mod admin;
pub mod api;
pub mod auth;
pub mod bearer;
pub mod client;
pub mod error;
pub mod extract;
pub mod origin;
pub mod session_store;
pub mod shown_once;
pub mod sse;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use error::HttpError;
use slipway_app::ssr::context::{authorize, CurrentUser};
use slipway_core::repos::RepoError;
use slipway_core::Services;
use slipway_model::{Action, PipelineId};

/// Health checks: no session and no authentication (load balancers and orchestrators
/// call them).
pub fn health_routes() -> Router<Services> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The JSON API: bearer tokens only, so it runs without the session layer, the Origin
/// check and session authentication (a browser cannot add an `Authorization` header
/// to a cross-origin request, and the API never reads the cookie).
pub fn api_routes() -> Router<Services> {
    Router::new().nest("/api/v1", api::routes())
}

/// Webhooks from outside services (GitHub, coming): authenticated by their signatures,
/// so, like the API, outside the session layer and the Origin check.
pub fn webhook_routes() -> Router<Services> {
    Router::new()
}

/// The form routes and the event stream. `startup` wraps these, with the Leptos pages
/// and server functions, in the session layer, the Origin check and session
/// authentication.
pub fn session_routes() -> Router<Services> {
    Router::new()
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/setup", post(accounts::setup))
        .route("/password", post(accounts::change_password))
        .route("/profile/sessions/{id}/end", post(accounts::end_session))
        .route("/admin/users", post(accounts::create_user))
        .route("/admin/users/roles", post(accounts::set_roles))
        .route("/admin/users/disable", post(accounts::disable))
        .route("/admin/users/enable", post(accounts::enable))
        .route(
            "/admin/users/reset-password",
            post(accounts::reset_password),
        )
        .route("/pipelines/{pipeline}/refresh", post(refresh))
        .route("/pipelines/{pipeline}/ready", post(actions::ready))
        .route("/pipelines/{pipeline}/unready", post(actions::unready))
        .route("/pipelines/{pipeline}/promote", post(actions::promote))
        .route(
            "/pipelines/{pipeline}/stages/{stage}/lock",
            post(actions::lock),
        )
        .route(
            "/pipelines/{pipeline}/stages/{stage}/unlock",
            post(actions::unlock),
        )
        .route(
            "/pipelines/{pipeline}/stages/{stage}/rollback",
            post(actions::rollback),
        )
        .route("/deployments/{id}/cancel", post(actions::cancel))
        .route("/admin/audit.jsonl", get(admin::audit_export))
        .route("/profile/tokens", post(actions::create_token))
        .route("/profile/tokens/{id}/revoke", post(actions::revoke_token))
        // Open pages follow the board with their session; CI may use a token.
        .route("/api/v1/events", get(sse::events))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok\n"
}

/// The database answers and every migration is applied.
async fn readyz(State(state): State<Services>) -> Response {
    match state.storage.check_ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: database unavailable or migrations pending\n",
            )
                .into_response()
        }
    }
}

/// The *Refresh* button: fetch the pipeline's repository now, then back to the board.
async fn refresh(
    State(state): State<Services>,
    Extension(CurrentUser(user)): Extension<CurrentUser>,
    extract::PagePath(id): extract::PagePath<PipelineId>,
) -> Result<Redirect, HttpError> {
    let user = user.ok_or(HttpError::Unauthenticated)?;
    authorize(&user, Action::RefreshRepository).map_err(HttpError::from)?;
    match state.repos.fetch(id.as_str()).await {
        // A failed fetch is recorded in the mirror status, which the board shows.
        Ok(()) | Err(RepoError::Git(_)) => {
            state
                .events
                .board_changed(id.as_str(), slipway_model::live::BoardChange::Commits)
                .await;
            Ok(Redirect::to(&format!("/pipelines/{id}")))
        }
        Err(e @ RepoError::UnknownPipeline(_)) => Err(HttpError::not_found(e.to_string())),
    }
}
