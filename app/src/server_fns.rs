//! Server functions: the typed calls pages make to load their data. Each is thin: it
//! checks the policy through [`ssr::context`](crate::ssr::context), parses its string
//! arguments (parts of the page's URL: this is where strings stop) and delegates to a core service. Reads use GET, so they carry no side effects and
//! need no CSRF token; every state change goes through POST routes that the server's
//! Origin check guards.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use slipway_model::error::AppError;
use slipway_model::views::{
    AuditRow, BoardView, CalendarView, CompareView, ConfirmView, DeliveryView, DeploymentView,
    Flash, HomeView, InsightsView, Me, ProfileView, StageHistoryView, UserRow,
};
#[cfg(feature = "ssr")]
use slipway_model::{PipelineId, StageId};

/// The logged-in user, or `None`.
#[server(prefix = "/_fn", endpoint = "me", input = GetUrl)]
pub async fn get_me() -> Result<Option<Me>, AppError> {
    use crate::ssr::context::{current_user, services, unread_notifications};
    let Some(u) = current_user() else {
        return Ok(None);
    };
    let unread_notifications = match unread_notifications() {
        Some(n) => n,
        None => services()?.storage.unread_notifications(u.id).await?,
    };
    Ok(Some(Me {
        name: u.name.to_string(),
        roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        must_change_password: u.must_change_password,
        unread_notifications,
    }))
}

/// Every pipeline with its stages.
#[server(prefix = "/_fn", endpoint = "home", input = GetUrl)]
pub async fn get_home() -> Result<HomeView, AppError> {
    use crate::ssr::context;
    use slipway_core::read;
    context::require(slipway_model::Action::View)?;
    read::home(&context::services()?).await
}

/// One pipeline's board.
#[server(prefix = "/_fn", endpoint = "board", input = GetUrl)]
pub async fn get_board(pipeline: String) -> Result<BoardView, AppError> {
    use crate::ssr::context;
    use slipway_core::read;
    let user = context::require(slipway_model::Action::View)?;
    let services = context::services()?;
    let id = PipelineId::parse(&pipeline).map_err(AppError::no_such)?;
    read::board(
        &services,
        &user,
        slipway_core::promotion::pipeline(&services, &id)?,
    )
    .await
}

/// Every user with their roles (admins only).
#[server(prefix = "/_fn", endpoint = "users", input = GetUrl)]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    use crate::ssr::context;
    let me = context::require(slipway_model::Action::ManageUsers)?;
    slipway_core::read::accounts::users(&context::services()?, &me).await
}

/// A deployment and its log.
#[server(prefix = "/_fn", endpoint = "deployment", input = GetUrl)]
pub async fn get_deployment(id: slipway_model::DeploymentId) -> Result<DeploymentView, AppError> {
    use crate::ssr::context;
    use slipway_core::read;
    let user = context::require(slipway_model::Action::View)?;
    read::deployment(&context::services()?, &user, id).await
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
    let user = context::require(slipway_model::Action::View)?;
    slipway_core::read::accounts::profile(&context::services()?, &user, context::current_login())
        .await
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
    use slipway_core::read::audit;
    context::require(slipway_model::Action::ViewAudit)?;
    let filter = audit::filter(actor, action, pipeline, outcome, before, 200);
    audit::entries(&context::services()?, &filter).await
}

/// The newest outgoing webhook deliveries and their attempts (admins only).
#[server(prefix = "/_fn", endpoint = "deliveries", input = GetUrl)]
pub async fn get_deliveries() -> Result<Vec<DeliveryView>, AppError> {
    use crate::ssr::context;
    context::require(slipway_model::Action::ViewAudit)?;
    slipway_core::read::audit::deliveries(&context::services()?, 100).await
}

/// A stage's deployment history.
#[server(prefix = "/_fn", endpoint = "history", input = GetUrl)]
pub async fn get_stage_history(
    pipeline: String,
    stage: String,
) -> Result<StageHistoryView, AppError> {
    use crate::ssr::context;
    use slipway_core::read;
    context::require(slipway_model::Action::View)?;
    let services = context::services()?;
    let pipeline = PipelineId::parse(&pipeline).map_err(AppError::no_such)?;
    let stage = StageId::parse(&stage).map_err(AppError::no_such)?;
    let at = slipway_core::promotion::stage(&services, &pipeline, &stage)?;
    read::stage_history(&services, &at).await
}

/// A pipeline's calendar: this week and the next, per stage.
#[server(prefix = "/_fn", endpoint = "calendar", input = GetUrl)]
pub async fn get_calendar(pipeline: String) -> Result<CalendarView, AppError> {
    use crate::ssr::context;
    use slipway_core::read;
    let user = context::require(slipway_model::Action::View)?;
    let services = context::services()?;
    let pipeline = PipelineId::parse(&pipeline).map_err(AppError::no_such)?;
    let p = slipway_core::promotion::pipeline(&services, &pipeline)?;
    read::calendar(&services, &user, p).await
}

/// A pipeline's delivery insights over the last `days` (7, 30 or 90).
#[server(prefix = "/_fn", endpoint = "insights", input = GetUrl)]
pub async fn get_insights(pipeline: String, days: i64) -> Result<InsightsView, AppError> {
    use crate::ssr::context;
    use slipway_core::read;
    let user = context::require(slipway_model::Action::View)?;
    let services = context::services()?;
    let pipeline = PipelineId::parse(&pipeline).map_err(AppError::no_such)?;
    let p = slipway_core::promotion::pipeline(&services, &pipeline)?;
    read::insights::insights(&services, &user, p, days).await
}

/// "What goes out": the commits between two SHAs of a pipeline.
#[server(prefix = "/_fn", endpoint = "compare", input = GetUrl)]
pub async fn get_compare(
    pipeline: String,
    from: String,
    to: String,
) -> Result<CompareView, AppError> {
    use crate::ssr::context;
    use slipway_core::read;
    context::require(slipway_model::Action::View)?;
    use slipway_model::Sha;
    let services = context::services()?;
    let id = PipelineId::parse(&pipeline).map_err(AppError::no_such)?;
    let pipeline = slipway_core::promotion::pipeline(&services, &id)?;
    let (from, to) = (Sha::parse(from.trim())?, Sha::parse(to.trim())?);
    read::compare(&services, pipeline, &from, &to).await
}

/// What promoting `sha` into production `stage` asks its promoter to confirm (`mode`:
/// which of the card's promote forms asked). Only production stages are confirmed.
#[server(prefix = "/_fn", endpoint = "confirm", input = GetUrl)]
pub async fn get_confirmation(
    pipeline: String,
    stage: String,
    sha: String,
    mode: String,
) -> Result<ConfirmView, AppError> {
    use crate::ssr::context;
    use slipway_model::views::PromoteMode;
    use slipway_model::Sha;
    let user = context::require(slipway_model::Action::View)?;
    let services = context::services()?;
    let pipeline = PipelineId::parse(&pipeline).map_err(AppError::no_such)?;
    let stage = StageId::parse(&stage).map_err(AppError::no_such)?;
    let at = slipway_core::promotion::stage(&services, &pipeline, &stage)?;
    if !at.stage().production {
        return Err(AppError::BadRequest(format!(
            "{} is not a production stage: its promotions start from the board without a confirmation",
            at.stage().label
        )));
    }
    let sha = Sha::parse(sha.trim())?;
    let mode = PromoteMode::parse(mode.trim()).map_err(AppError::BadRequest)?;
    slipway_core::read::confirm::promotion(&services, &user, &at, &sha, mode).await
}

/// Whether a first-admin setup link can still be used (the setup page's question).
#[server(prefix = "/_fn", endpoint = "setup", input = GetUrl)]
pub async fn get_setup_status(token: String) -> Result<bool, AppError> {
    use crate::ssr::context;
    use slipway_core::accounts;
    let state = context::services()?;
    accounts::setup_link_is_valid(state.storage.as_ref(), &token).await
}
