//! The deployments part of the JSON API: a deployment, its log (paged), and cancelling
//! it. Same conventions as `api.rs`: bearer tokens, JSON errors with a stable `code`.

use super::bearer::{ApiError, ApiUser, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use super::json::{rfc3339, DeploymentJson};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use slipway_app::ssr::context::authorize;
use slipway_core::store::Deployment;
use slipway_core::{promotion, Services};
use slipway_model::error::AppError;
use slipway_model::{Action, DeploymentId};
use utoipa::ToSchema;

type ApiResult<T> = Result<T, ApiError>;

async fn find_deployment(state: &Services, id: DeploymentId) -> ApiResult<Deployment> {
    state
        .storage
        .deployment(id)
        .await
        .map_err(|e| ApiError::from(slipway_app::ssr::context::internal(e)))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("there is no deployment #{id}"),
            )
        })
}

#[utoipa::path(
    get,
    path = "/deployments/{id}",
    tag = "slipway",
    summary = "A deployment",
    params(("id" = i64, Path, description = "The deployment's id")),
    responses(
        (status = 200, description = "The deployment", body = DeploymentJson),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage, SHA or deployment", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn deployment(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<DeploymentId>,
) -> ApiResult<Json<DeploymentJson>> {
    authorize(&user, Action::View)?;
    Ok(Json(DeploymentJson::from(
        &find_deployment(&state, id).await?,
    )))
}

/// A page of a log: lines after `after` (a `seq`), at most `limit` (1 to 10,000,
/// default 1,000).
#[derive(Deserialize)]
pub(super) struct LogQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
}

const LOG_PAGE_DEFAULT: i64 = 1_000;
const LOG_PAGE_MAX: i64 = 10_000;

#[derive(Serialize, ToSchema)]
pub(super) struct LogLineJson {
    seq: i64,
    /// The attempt that printed it (1, 2, … where transient failures were retried).
    attempt: i64,
    at: String,
    stream: String,
    line: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct LogAnswer {
    deployment: DeploymentJson,
    lines: Vec<LogLineJson>,
    /// How many lines the stored log holds in all.
    total_lines: i64,
    /// Pass as `after` for the next page; absent on the last page.
    next_after: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/deployments/{id}/log",
    tag = "slipway",
    summary = "A page of a deployment's log",
    params(("id" = i64, Path, description = "The deployment's id"), ("after" = Option<i64>, Query, description = "Lines after this `seq` (default 0)"), ("limit" = Option<i64>, Query, minimum = 1, maximum = 10000, description = "At most this many lines (default 1,000)")),
    responses(
        (status = 200, description = "A page of the deployment's log", body = LogAnswer),
        (status = 400, description = "A malformed body or query; `message` says what to fix", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage, SHA or deployment", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn log(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<DeploymentId>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> ApiResult<Json<LogAnswer>> {
    authorize(&user, Action::View)?;
    let d = find_deployment(&state, id).await?;
    let limit = match q.limit {
        None => LOG_PAGE_DEFAULT,
        Some(n) if (1..=LOG_PAGE_MAX).contains(&n) => n,
        Some(n) => {
            return Err(AppError::BadRequest(format!(
                "limit must be between 1 and {LOG_PAGE_MAX}, got {n}"
            ))
            .into())
        }
    };
    let (total_lines, _) = state.storage.log_size(id).await.map_err(AppError::from)?;
    let lines: Vec<LogLineJson> = state
        .storage
        .log_lines(id, q.after, limit)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|l| LogLineJson {
            seq: l.seq,
            attempt: l.attempt,
            at: rfc3339(l.at),
            stream: l.stream,
            line: l.line,
        })
        .collect();
    let full_page = i64::try_from(lines.len()).unwrap_or(i64::MAX) == limit;
    let next_after = lines.last().map(|l| l.seq).filter(|_| full_page);
    Ok(Json(LogAnswer {
        deployment: DeploymentJson::from(&d),
        lines,
        total_lines,
        next_after,
    }))
}

#[utoipa::path(
    post,
    path = "/deployments/{id}/cancel",
    tag = "slipway",
    summary = "Cancel a queued or running deployment",
    params(("id" = i64, Path, description = "The deployment's id")),
    responses(
        (status = 202, description = "Cancelling: the deployer is being stopped"),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage, SHA or deployment", body = ErrorBody),
        (status = 409, description = "Refused by a gate, named in `gate`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn cancel(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<DeploymentId>,
) -> ApiResult<StatusCode> {
    promotion::cancel(&state, &user, id).await?;
    Ok(StatusCode::ACCEPTED)
}
