//! `GET /api/v1/pipelines/{pipeline}/insights`: the four DORA keys of each production
//! stage, the same read model the insights page draws.

use super::bearer::{ApiError, ApiUser, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use super::surface::{RouteBook, Surface, Who};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use slipway_app::ssr::context::authorize;
use slipway_core::{promotion, read, Services};
use slipway_model::views::{InsightsView, DEFAULT_INSIGHT_DAYS};
use slipway_model::{Action, PipelineId};

/// The insights route, nested under `/api/v1` with the rest of the API.
pub fn routes() -> RouteBook<Services> {
    RouteBook::new(Surface::Api).get(
        "/pipelines/{pipeline}/insights",
        Who::May(Action::View),
        insights,
    )
}

/// `?days=7|30|90` (default 30).
#[derive(Deserialize)]
pub(super) struct InsightsQuery {
    #[serde(default)]
    days: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/pipelines/{pipeline}/insights",
    tag = "slipway",
    summary = "A pipeline's delivery insights (the four DORA keys)",
    description = "Per production stage, over the last 7, 30 or 90 days: deployment frequency (successful promotions), lead time from commit and from ready mark to production (medians, in seconds), change failure rate (failed, timed-out or rolled-back promotions among those with a verdict) and time to restore (median seconds from a failure to the next successful production deployment), with daily counts.",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("days" = Option<i64>, Query, description = "The window: 7, 30 or 90 days (default 30)")),
    responses(
        (status = 200, description = "The keys of each production stage", body = InsightsView),
        (status = 400, description = "A malformed body or query; `message` says what to fix", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn insights(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath(p): ApiPath<PipelineId>,
    ApiQuery(q): ApiQuery<InsightsQuery>,
) -> Result<Json<InsightsView>, ApiError> {
    authorize(&user, Action::View)?;
    let pipeline = promotion::pipeline(&state, &p)?;
    let days = q.days.unwrap_or(DEFAULT_INSIGHT_DAYS);
    Ok(Json(
        read::insights::insights(&state, &user, pipeline, days).await?,
    ))
}
