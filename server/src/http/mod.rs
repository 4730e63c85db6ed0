//! HTTP handlers and middleware that are not Leptos pages: the login and logout
//! forms, the refresh button, health checks, the Origin check and authentication.
//! Handlers are thin: they parse, ask the policy, call a backend service, redirect.

pub mod accounts;
pub mod acks;
pub mod actions;
pub mod admin;
pub mod api;
pub mod api_deployments;
pub mod api_governance;
pub mod api_insights;
pub mod assets;
pub mod auth;
pub mod bearer;
pub mod board_page;
pub mod client;
pub mod conditional;
pub mod error;
pub mod extract;
pub mod github;
pub mod governance;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod origin;
pub mod session_store;
pub mod shown_once;
pub mod sse;
pub mod surface;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use error::HttpError;
use slipway_app::ssr::context::{authorize, CurrentUser};
use slipway_core::Services;
use slipway_model::{Action, PipelineId};
use surface::{RouteBook, Surface, Who};

/// Health checks: no session and no authentication (load balancers and orchestrators
/// call them).
pub fn health_routes() -> RouteBook<Services> {
    RouteBook::new(Surface::Health)
        .get("/healthz", Who::Always, healthz)
        .get("/readyz", Who::Always, readyz)
        .get("/metrics", Who::MetricsToken, metrics::scrape)
}

/// The JSON API: bearer tokens only, so it runs without the session layer, the Origin
/// check and session authentication (a browser cannot add an `Authorization` header
/// to a cross-origin request, and the API never reads the cookie).
pub fn api_routes() -> RouteBook<Services> {
    api::routes().nest("/api/v1")
}

/// Webhooks from outside services (GitHub, coming): authenticated by their signatures,
/// so, like the API, outside the session layer and the Origin check.
pub fn webhook_routes() -> RouteBook<Services> {
    RouteBook::new(Surface::Webhook)
        .post("/hooks/github", Who::GitHubSigned, github::receive)
        .map_router(|r| r.layer(axum::extract::DefaultBodyLimit::max(github::BODY_LIMIT)))
}

/// The form routes, the audit export and the event stream. `startup` wraps these, with
/// the Leptos pages and server functions, in the session layer, the Origin check and
/// session authentication.
pub fn session_routes() -> RouteBook<Services> {
    use Action::{Cancel, ManageUsers, MarkReady, RefreshRepository, View, ViewAudit};
    let forms = RouteBook::new(Surface::Form)
        .post("/login", Who::Anyone, auth::login)
        // Logging out is harmless for anyone; it ends the caller's own session only.
        .post("/logout", Who::Always, auth::logout)
        .post("/setup", Who::Anyone, accounts::setup)
        .post("/password", Who::SignedIn, accounts::change_password)
        .post(
            "/profile/sessions/{id}/end",
            Who::OwnAccount,
            accounts::end_session,
        )
        .post("/profile/tokens", Who::OwnAccount, actions::create_token)
        .post(
            "/profile/notifications/read",
            Who::OwnAccount,
            governance::mark_notifications_read,
        )
        .post(
            "/profile/tokens/{id}/revoke",
            Who::OwnAccount,
            actions::revoke_token,
        )
        .post("/admin/users", Who::May(ManageUsers), accounts::create_user)
        .post(
            "/admin/users/roles",
            Who::May(ManageUsers),
            accounts::set_roles,
        )
        .post(
            "/admin/users/disable",
            Who::May(ManageUsers),
            accounts::disable,
        )
        .post(
            "/admin/users/enable",
            Who::May(ManageUsers),
            accounts::enable,
        )
        .post(
            "/admin/users/reset-password",
            Who::May(ManageUsers),
            accounts::reset_password,
        )
        .post(
            "/pipelines/{pipeline}/refresh",
            Who::May(RefreshRepository),
            refresh,
        )
        .post(
            "/pipelines/{pipeline}/ready",
            Who::May(MarkReady),
            actions::ready,
        )
        .post(
            "/pipelines/{pipeline}/unready",
            Who::May(MarkReady),
            actions::unready,
        )
        .post(
            "/pipelines/{pipeline}/promote",
            Who::PromoteIntoStage,
            actions::promote,
        )
        .post(
            "/pipelines/{pipeline}/stages/{stage}/queue/withdraw",
            Who::PromoteIntoStage,
            actions::withdraw_queued,
        )
        .post(
            "/pipelines/{pipeline}/stages/{stage}/lock",
            Who::LockStage,
            actions::lock,
        )
        .post(
            "/pipelines/{pipeline}/stages/{stage}/unlock",
            Who::LockStage,
            actions::unlock,
        )
        .post(
            "/pipelines/{pipeline}/stages/{stage}/rollback",
            Who::RollBackStage,
            actions::rollback,
        )
        .post(
            "/pipelines/{pipeline}/stages/{stage}/signoff",
            Who::SignOffStage,
            governance::sign_off,
        )
        .post(
            "/pipelines/{pipeline}/stages/{stage}/signoff/withdraw",
            Who::SignOffStage,
            governance::withdraw_sign_off,
        )
        .post(
            "/pipelines/{pipeline}/freezes",
            Who::May(Action::ManageFreezes),
            governance::declare_freeze,
        )
        .post(
            "/freezes/{id}/end",
            Who::May(Action::ManageFreezes),
            governance::end_freeze,
        )
        .post(
            "/pipelines/{pipeline}/stages/{stage}/requests",
            Who::PromoteIntoStage,
            governance::request_approval,
        )
        .post(
            "/requests/{id}/approve",
            Who::ApproveRequest,
            governance::approve,
        )
        .post(
            "/requests/{id}/reject",
            Who::ApproveRequest,
            governance::reject,
        )
        .post(
            "/deployments/{id}/cancel",
            Who::May(Cancel),
            actions::cancel,
        );
    let downloads = RouteBook::new(Surface::Page).get(
        "/admin/audit.jsonl",
        Who::May(ViewAudit),
        admin::audit_export,
    );
    // Open pages follow the board with their session; CI may use a token.
    let events =
        RouteBook::new(Surface::EventStream).get("/api/v1/events", Who::May(View), sse::events);
    forms.merge(downloads).merge(events)
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
    slipway_core::promotion::fetch_now(&state, id.as_str())
        .await
        .map_err(|e| HttpError::not_found(e.to_string()))?;
    Ok(Redirect::to(&format!("/pipelines/{id}")))
}
