//! Server functions: the typed calls pages make to load their data. Each is thin: it
//! checks the policy through [`ssr::context`](crate::ssr::context) and
//! delegates to a backend service. Reads use GET, so they carry no side effects and
//! need no CSRF token; every state change goes through POST routes that the server's
//! Origin check guards.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use slipway_model::error::AppError;
use slipway_model::views::{
    AuditRow, BoardView, CompareView, DeploymentView, Flash, HomeView, Me, ProfileView,
    StageHistoryView, UserRow,
};

/// The logged-in user, or `None`.
#[server(prefix = "/_fn", endpoint = "me", input = GetUrl)]
pub async fn get_me() -> Result<Option<Me>, AppError> {
    use crate::ssr::context::current_user;
    Ok(current_user().map(|u| Me {
        name: u.name.to_string(),
        roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        must_change_password: u.must_change_password,
    }))
}

/// Every pipeline with its stages.
#[server(prefix = "/_fn", endpoint = "home", input = GetUrl)]
pub async fn get_home() -> Result<HomeView, AppError> {
    use crate::ssr::context;
    use slipway_core::board;
    context::require(slipway_model::Action::View)?;
    board::home(&context::services()?).await
}

/// One pipeline's board.
#[server(prefix = "/_fn", endpoint = "board", input = GetUrl)]
pub async fn get_board(pipeline: String) -> Result<BoardView, AppError> {
    use crate::ssr::context;
    use slipway_core::board;
    let user = context::require(slipway_model::Action::View)?;
    board::board(&context::services()?, &user, &pipeline).await
}

/// Every user with their roles (admins only).
#[server(prefix = "/_fn", endpoint = "users", input = GetUrl)]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    use crate::ssr::context;
    use slipway_model::time_fmt::age;
    let me = context::require(slipway_model::Action::ManageUsers)?;
    let state = context::services()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let users = state
        .storage
        .list_users()
        .await
        .map_err(context::internal)?;
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

/// A deployment and its log.
#[server(prefix = "/_fn", endpoint = "deployment", input = GetUrl)]
pub async fn get_deployment(id: i64) -> Result<DeploymentView, AppError> {
    use crate::ssr::context;
    use slipway_core::board;
    let user = context::require(slipway_model::Action::View)?;
    board::deployment(&context::services()?, &user, id).await
}

/// The one-time message left by the last form post, removed as it is read.
#[server(prefix = "/_fn", endpoint = "flash", input = GetUrl)]
pub async fn take_flash() -> Result<Option<Flash>, AppError> {
    use crate::ssr::flash::{clear_flash_cookie, read_flash};
    let Some(parts) = use_context::<axum::http::request::Parts>() else {
        return Ok(None);
    };
    let flash = parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(read_flash);
    if flash.is_some() {
        let secure = crate::ssr::context::services()?.config.base_url.scheme() == "https";
        if let (Some(res), Ok(v)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            axum::http::HeaderValue::from_str(&clear_flash_cookie(secure)),
        ) {
            res.append_header(axum::http::header::SET_COOKIE, v);
        }
    }
    Ok(flash)
}

/// The logged-in user's profile and API tokens.
#[server(prefix = "/_fn", endpoint = "profile", input = GetUrl)]
pub async fn get_profile() -> Result<ProfileView, AppError> {
    use crate::ssr::context;
    use slipway_model::time_fmt::age;
    let user = context::require(slipway_model::Action::View)?;
    let state = context::services()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let tokens = state
        .storage
        .tokens_of(user.id)
        .await
        .map_err(context::internal)?;
    let current = context::current_login();
    let sessions = state
        .storage
        .open_login_sessions(user.id, now)
        .await
        .map_err(context::internal)?;
    Ok(ProfileView {
        sessions: sessions
            .into_iter()
            .map(|s| slipway_model::views::SessionRow {
                id: s.id,
                started: age(now - s.created_at.unix_timestamp()),
                last_seen: age(now - s.last_seen_at.unix_timestamp()),
                client: s.client,
                browser: slipway_core::accounts::describe_user_agent(&s.user_agent),
                expires: slipway_model::time_fmt::until(s.expires_at - now),
                current: current == Some(s.id),
            })
            .collect(),
        name: user.name.to_string(),
        roles: user.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        tokens: tokens
            .into_iter()
            .map(|t| slipway_model::views::TokenRow {
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

/// Audit log entries (admins only), newest first, filtered by exact field values.
#[server(prefix = "/_fn", endpoint = "audit", input = GetUrl)]
pub async fn get_audit(
    actor: Option<String>,
    action: Option<String>,
    pipeline: Option<String>,
    outcome: Option<String>,
    before: Option<i64>,
) -> Result<Vec<AuditRow>, AppError> {
    use crate::ssr::context;
    use slipway_core::audit;
    context::require(slipway_model::Action::ViewAudit)?;
    let state = context::services()?;
    let filter = audit::filter(actor, action, pipeline, outcome, before, 200);
    let rows = state
        .storage
        .audit_query(&filter)
        .await
        .map_err(context::internal)?;
    Ok(rows.iter().map(audit::row).collect())
}

/// A stage's deployment history.
#[server(prefix = "/_fn", endpoint = "history", input = GetUrl)]
pub async fn get_stage_history(
    pipeline: String,
    stage: String,
) -> Result<StageHistoryView, AppError> {
    use crate::ssr::context;
    use slipway_core::board;
    context::require(slipway_model::Action::View)?;
    board::stage_history(&context::services()?, &pipeline, &stage).await
}

/// "What goes out": the commits between two SHAs of a pipeline.
#[server(prefix = "/_fn", endpoint = "compare", input = GetUrl)]
pub async fn get_compare(
    pipeline: String,
    from: String,
    to: String,
) -> Result<CompareView, AppError> {
    use crate::ssr::context;
    use slipway_core::board;
    context::require(slipway_model::Action::View)?;
    board::compare(&context::services()?, &pipeline, &from, &to).await
}

/// Whether a first-admin setup link can still be used (the setup page's question).
#[server(prefix = "/_fn", endpoint = "setup", input = GetUrl)]
pub async fn get_setup_status(token: String) -> Result<bool, AppError> {
    use crate::ssr::context;
    use slipway_core::accounts;
    let state = context::services()?;
    accounts::setup_link_is_valid(state.storage.as_ref(), &token).await
}
