//! The JSON API under `/api/v1`: everything the board can do, for CI systems and
//! scripts. Authenticated by bearer tokens only — no cookies, hence no Origin check —
//! acting with the roles of the token's owner. Errors are JSON with a stable `code` and
//! a human `message`; a refused promotion names the failing gate.

use super::api_deployments;
use super::bearer::{ApiError, ApiJson, ApiUser, ErrorBody};
use super::conditional;
use super::extract::{ApiPath, ApiQuery};
use super::json::{DeploymentJson, QueuedJson};
use super::surface::{RouteBook, Surface, Who};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use slipway_app::ssr::context::{authorize, internal};
use slipway_core::read::board_cache::Rendered;
use slipway_core::{promotion, Services};
use slipway_model::error::AppError;
use slipway_model::gates::GateResult;
use slipway_model::views::BoardView;
use slipway_model::{Action, PipelineId, Sha, StageId};
use utoipa::ToSchema;

/// The API's routes.
pub fn routes() -> RouteBook<Services> {
    use Action::{Cancel, MarkReady, View};
    RouteBook::new(Surface::Api)
        .get("/pipelines/{pipeline}/board", Who::May(View), board_state)
        .post(
            "/pipelines/{pipeline}/ready",
            Who::May(MarkReady),
            mark_ready,
        )
        .delete(
            "/pipelines/{pipeline}/ready/{sha}",
            Who::May(MarkReady),
            unmark_ready,
        )
        .get(
            "/pipelines/{pipeline}/stages/{stage}/gates",
            Who::May(View),
            gates,
        )
        .post(
            "/pipelines/{pipeline}/stages/{stage}/promote",
            Who::PromoteIntoStage,
            promote,
        )
        .delete(
            "/pipelines/{pipeline}/stages/{stage}/queue",
            Who::PromoteIntoStage,
            withdraw_queued,
        )
        .post(
            "/pipelines/{pipeline}/stages/{stage}/lock",
            Who::LockStage,
            lock,
        )
        .delete(
            "/pipelines/{pipeline}/stages/{stage}/lock",
            Who::LockStage,
            unlock,
        )
        .post(
            "/pipelines/{pipeline}/stages/{stage}/rollback",
            Who::RollBackStage,
            rollback,
        )
        .get(
            "/deployments/{id}",
            Who::May(View),
            api_deployments::deployment,
        )
        .get(
            "/deployments/{id}/log",
            Who::May(View),
            api_deployments::log,
        )
        .post(
            "/deployments/{id}/cancel",
            Who::May(Cancel),
            api_deployments::cancel,
        )
        .get("/openapi.json", Who::Always, super::openapi::openapi_json)
        .merge(super::api_governance::routes())
        .merge(super::api_insights::routes())
        .map_router(|r| {
            r.fallback(not_found)
                .method_not_allowed_fallback(method_not_allowed)
        })
}

type ApiResult<T> = Result<T, ApiError>;

/// A path the API has, asked with a method it does not take (a client's `..` or `.`
/// segment can turn `/deployments/{id}/cancel` into `/deployments/cancel`, say).
async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this API path does not take that method; see the README for the /api/v1 routes",
    )
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such API endpoint; see the README for the /api/v1 routes",
    )
}

#[utoipa::path(
    get,
    path = "/pipelines/{pipeline}/board",
    tag = "slipway",
    summary = "A pipeline's board",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id")),
    responses(
        (status = 200, description = "The board, as the page shows it to the token's user, with its `ETag`", body = BoardView),
        (status = 304, description = "The board is unchanged since the `ETag` the request names in `If-None-Match`"),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage, SHA or deployment", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn board_state(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath(p): ApiPath<PipelineId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&user, Action::View)?;
    let pipeline = promotion::pipeline(&state, &p)?;
    let board = state.boards.get(&state, &user, pipeline).await?;
    // Everyone with the same roles shares one rendering; four eyes makes a requester's
    // own view, rendered for them.
    let personal;
    let rendered = if board.shared_with(&user) {
        board.json()?
    } else {
        let bytes = serde_json::to_vec(&*board.for_user(&user)).map_err(internal)?;
        personal = Rendered::new(bytes);
        &personal
    };
    Ok(conditional::respond(&headers, rendered, "application/json"))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ReadyBody {
    /// The commit: on the pipeline's branch, fetched if new.
    sha: Sha,
    /// Shown on the card (at most 500 characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct ReadyAnswer {
    pipeline: PipelineId,
    sha: Sha,
    /// False when the SHA was already marked ready.
    newly_marked: bool,
}

#[utoipa::path(
    post,
    path = "/pipelines/{pipeline}/ready",
    tag = "slipway",
    summary = "Mark a commit ready",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id")),
    request_body = ReadyBody,
    responses(
        (status = 200, description = "Marked (or already marked) ready", body = ReadyAnswer),
        (status = 400, description = "A malformed body or query; `message` says what to fix", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage, SHA or deployment", body = ErrorBody),
        (status = 409, description = "Refused by a gate, named in `gate`", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn mark_ready(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath(p): ApiPath<PipelineId>,
    ApiJson(body): ApiJson<ReadyBody>,
) -> ApiResult<Json<ReadyAnswer>> {
    let pipeline = promotion::pipeline(&state, &p)?;
    let newly_marked =
        promotion::mark_ready(&state, &user, pipeline, &body.sha, body.note.as_deref())
            .await
            .map_err(|e| ApiError::from(e).at(&p, None, Some(&body.sha)))?;
    Ok(Json(ReadyAnswer {
        pipeline: p,
        sha: body.sha,
        newly_marked,
    }))
}

#[utoipa::path(
    delete,
    path = "/pipelines/{pipeline}/ready/{sha}",
    tag = "slipway",
    summary = "Take a commit's ready mark back",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("sha" = Sha, Path, description = "The full commit SHA")),
    responses(
        (status = 204, description = "The ready mark is gone"),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage, SHA or deployment", body = ErrorBody),
        (status = 409, description = "Refused by a gate, named in `gate`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn unmark_ready(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath((p, sha)): ApiPath<(PipelineId, Sha)>,
) -> ApiResult<StatusCode> {
    let pipeline = promotion::pipeline(&state, &p)?;
    let unmarked = promotion::unmark_ready(&state, &user, pipeline, &sha)
        .await
        .map_err(|e| ApiError::from(e).at(&p, None, Some(&sha)))?;
    if unmarked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{sha} is not marked ready"),
        ))
    }
}

#[derive(Deserialize)]
pub(super) struct ShaQuery {
    sha: Sha,
}

#[derive(Serialize, ToSchema)]
pub(super) struct GatesAnswer {
    pipeline: PipelineId,
    stage: StageId,
    sha: Sha,
    allowed: bool,
    gates: Vec<GateResult>,
}

#[utoipa::path(
    get,
    path = "/pipelines/{pipeline}/stages/{stage}/gates",
    tag = "slipway",
    summary = "Gates for a promotion",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("stage" = StageId, Path, description = "The stage's config id"), ("sha" = Sha, Query, description = "The commit to evaluate")),
    responses(
        (status = 200, description = "Every gate's verdict for promoting the SHA into the stage", body = GatesAnswer),
        (status = 400, description = "A malformed body or query; `message` says what to fix", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage, SHA or deployment", body = ErrorBody),
        (status = 409, description = "Refused by a gate, named in `gate`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn gates(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath((p, s)): ApiPath<(PipelineId, StageId)>,
    ApiQuery(q): ApiQuery<ShaQuery>,
) -> ApiResult<Json<GatesAnswer>> {
    authorize(&user, Action::View)?;
    let at = promotion::stage(&state, &p, &s)?;
    let gates = promotion::evaluate_gates(&state, &user, &at, &q.sha)
        .await
        .map_err(|e| ApiError::from(e).at(&p, Some(&s), Some(&q.sha)))?;
    Ok(Json(GatesAnswer {
        allowed: slipway_model::gates::first_blocker(&gates).is_none(),
        pipeline: p,
        stage: s,
        sha: q.sha,
        gates,
    }))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct PromoteBody {
    /// The commit to deploy.
    sha: Sha,
    /// Every item of the stage's `checklist`, confirmed (in any order); empty where
    /// the stage has none.
    #[serde(default)]
    checklist: Vec<String>,
    /// An emergency override (ops, admin): why the promotion must go through a closed
    /// deploy window or a freeze now. It passes those two gates and no other; the board
    /// shows a banner until the stage's next regular deployment.
    #[serde(default)]
    #[schema(max_length = 500)]
    override_reason: Option<String>,
    /// The acknowledgements the `migrations` and `drift` gates ask for.
    #[serde(flatten)]
    acks: super::acks::AckFields,
    /// Where the missing artifact is all that holds the promotion (the `artifact` gate
    /// is `pending`, every other one passes): queue it, to start by itself when the
    /// artifact appears (202) instead of being refused. It starts now (201) when
    /// nothing holds it.
    #[serde(default)]
    wait_for_artifact: bool,
    /// With `wait_for_artifact`: replace the stage's queued promotion of another SHA
    /// (without it, one is refused with code `queued`).
    #[serde(default)]
    replace_queued: bool,
}

#[utoipa::path(
    post,
    path = "/pipelines/{pipeline}/stages/{stage}/promote",
    tag = "slipway",
    summary = "Promote a commit into a stage",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("stage" = StageId, Path, description = "The stage's config id")),
    request_body = PromoteBody,
    responses(
        (status = 201, description = "The deployment was created and starts now", body = DeploymentJson),
        (status = 202, description = "With `wait_for_artifact`: queued until the artifact appears", body = QueuedJson),
        (status = 400, description = "A malformed body or query; `message` says what to fix", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage, SHA or deployment", body = ErrorBody),
        (status = 409, description = "Refused by a gate, named in `gate` (`queued`: the stage has a queued promotion; replace it explicitly)", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody),
        (status = 503, description = "Shutting down; retry after `Retry-After` seconds", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn promote(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath((p, s)): ApiPath<(PipelineId, StageId)>,
    ApiJson(body): ApiJson<PromoteBody>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse as _;
    use promotion::queue::Promoted;
    let at = promotion::stage(&state, &p, &s)?;
    if body.replace_queued && !body.wait_for_artifact {
        return Err(ApiError::from(AppError::BadRequest(
            "replace_queued only goes with wait_for_artifact: a promotion that does not wait replaces nothing"
                .into(),
        )));
    }
    let options = promotion::PromoteOptions {
        checklist: body.checklist,
        emergency_reason: body.override_reason,
        acks: body.acks.parse()?,
    };
    let result = if body.wait_for_artifact {
        promotion::queue::promote_or_queue(
            &state,
            &user,
            &at,
            &body.sha,
            &options,
            body.replace_queued,
        )
        .await
    } else {
        promotion::promote(&state, &user, &at, &body.sha, &options)
            .await
            .map(Promoted::Started)
    };
    match result.map_err(|e| ApiError::from(e).at(&p, Some(&s), Some(&body.sha)))? {
        Promoted::Started(d) => {
            Ok((StatusCode::CREATED, Json(DeploymentJson::from(&d))).into_response())
        }
        Promoted::Queued(q) => {
            Ok((StatusCode::ACCEPTED, Json(QueuedJson::from(&q))).into_response())
        }
    }
}

#[utoipa::path(
    delete,
    path = "/pipelines/{pipeline}/stages/{stage}/queue",
    tag = "slipway",
    summary = "Withdraw the promotion queued for a stage",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("stage" = StageId, Path, description = "The stage's config id")),
    responses(
        (status = 200, description = "Withdrawn: the entry as it ended", body = QueuedJson),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline or stage, or nothing is queued for it", body = ErrorBody),
        (status = 409, description = "It ended meanwhile (started, expired)", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn withdraw_queued(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath((p, s)): ApiPath<(PipelineId, StageId)>,
) -> ApiResult<Json<QueuedJson>> {
    let at = promotion::stage(&state, &p, &s)?;
    let q = promotion::queue::withdraw(&state, &user, &at)
        .await
        .map_err(|e| ApiError::from(e).at(&p, Some(&s), None))?;
    let ended = state
        .storage
        .queued_promotion(q.id)
        .await
        .map_err(AppError::from)?
        .unwrap_or(q);
    Ok(Json(QueuedJson::from(&ended)))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct LockBody {
    /// Why, for everyone the lock stops (1 to 500 characters, not only spaces).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    reason: String,
    /// The lock ends by itself after this long (1 minute to 30 days); absent: until
    /// someone unlocks.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 43200)]
    expires_in_minutes: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/pipelines/{pipeline}/stages/{stage}/lock",
    tag = "slipway",
    summary = "Lock a stage",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("stage" = StageId, Path, description = "The stage's config id")),
    request_body = LockBody,
    responses(
        (status = 204, description = "The stage is locked"),
        (status = 400, description = "A malformed body or query; `message` says what to fix", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage, SHA or deployment", body = ErrorBody),
        (status = 409, description = "Refused by a gate, named in `gate`", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn lock(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath((p, s)): ApiPath<(PipelineId, StageId)>,
    ApiJson(body): ApiJson<LockBody>,
) -> ApiResult<StatusCode> {
    let at = promotion::stage(&state, &p, &s)?;
    promotion::lock(&state, &user, &at, &body.reason, body.expires_in_minutes)
        .await
        .map_err(|e| ApiError::from(e).at(&p, Some(&s), None))?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/pipelines/{pipeline}/stages/{stage}/lock",
    tag = "slipway",
    summary = "Unlock a stage",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("stage" = StageId, Path, description = "The stage's config id")),
    responses(
        (status = 204, description = "The stage is unlocked"),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage, SHA or deployment", body = ErrorBody),
        (status = 409, description = "Refused by a gate, named in `gate`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn unlock(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath((p, s)): ApiPath<(PipelineId, StageId)>,
) -> ApiResult<StatusCode> {
    promotion::unlock(&state, &user, &promotion::stage(&state, &p, &s)?)
        .await
        .map_err(|e| ApiError::from(e).at(&p, Some(&s), None))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub(super) struct RollbackBody {
    /// Why, for the audit log (1 to 500 characters, not only spaces).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    reason: String,
    /// The acknowledgements the `migrations` and `drift` gates ask for.
    #[serde(flatten)]
    acks: super::acks::AckFields,
}

#[utoipa::path(
    post,
    path = "/pipelines/{pipeline}/stages/{stage}/rollback",
    tag = "slipway",
    summary = "Roll a stage back to its previous SHA",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("stage" = StageId, Path, description = "The stage's config id")),
    request_body = RollbackBody,
    responses(
        (status = 201, description = "The rollback deployment was created and starts now", body = DeploymentJson),
        (status = 400, description = "A malformed body or query; `message` says what to fix", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage, SHA or deployment", body = ErrorBody),
        (status = 409, description = "Refused by a gate, named in `gate`", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody),
        (status = 503, description = "Shutting down; retry after `Retry-After` seconds", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn rollback(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath((p, s)): ApiPath<(PipelineId, StageId)>,
    ApiJson(body): ApiJson<RollbackBody>,
) -> ApiResult<(StatusCode, Json<DeploymentJson>)> {
    let at = promotion::stage(&state, &p, &s)?;
    let d = promotion::rollback(&state, &user, &at, &body.reason, &body.acks.parse()?)
        .await
        .map_err(|e| ApiError::from(e).at(&p, Some(&s), None))?;
    Ok((StatusCode::CREATED, Json(DeploymentJson::from(&d))))
}
