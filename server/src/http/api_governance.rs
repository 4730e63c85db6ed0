//! The governance part of the JSON API: sign-offs (and, as they land, approval
//! requests and freezes). Same conventions as `api.rs`: bearer tokens, JSON errors
//! with a stable `code`, a refusal naming its rule.

use super::bearer::{ApiError, ApiJson, ApiUser, ErrorBody};
use super::extract::ApiPath;
use super::surface::{RouteBook, Surface, Who};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use slipway_app::ssr::context::authorize;
use slipway_core::promotion::freezes;
use slipway_core::store::{Freeze, SignOffEndKind, SignOffRecord};
use slipway_core::{promotion, read, Services};
use slipway_model::views::FreezeView;
use slipway_model::{Action, FreezeId, PipelineId, Sha, StageId};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The governance routes, nested under `/api/v1` with the rest of the API.
pub fn routes() -> RouteBook<Services> {
    RouteBook::new(Surface::Api)
        .post(
            "/pipelines/{pipeline}/stages/{stage}/signoff",
            Who::SignOffStage,
            sign_off,
        )
        .delete(
            "/pipelines/{pipeline}/stages/{stage}/signoff/{sha}",
            Who::SignOffStage,
            withdraw_sign_off,
        )
        .get(
            "/pipelines/{pipeline}/freezes",
            Who::May(Action::View),
            list_freezes,
        )
        .post(
            "/pipelines/{pipeline}/freezes",
            Who::May(Action::ManageFreezes),
            declare_freeze,
        )
        .post(
            "/freezes/{id}/end",
            Who::May(Action::ManageFreezes),
            end_freeze,
        )
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A sign-off as the API returns it.
#[derive(Serialize, ToSchema)]
pub(super) struct SignOffJson {
    pipeline: PipelineId,
    stage: StageId,
    sha: Sha,
    /// Who signed off.
    by: String,
    note: Option<String>,
    /// When (RFC 3339, UTC).
    at: String,
    /// `in_force`, `withdrawn` or `voided`.
    state: String,
    /// Who withdrew it.
    ended_by: Option<String>,
    /// Why it was withdrawn or voided.
    end_reason: Option<String>,
}

impl SignOffJson {
    fn new(pipeline: PipelineId, stage: StageId, s: SignOffRecord) -> Self {
        let (state, ended_by, end_reason) = match s.ended {
            None => ("in_force", None, None),
            Some(e) => (
                match e.how {
                    SignOffEndKind::Withdrawn => "withdrawn",
                    SignOffEndKind::Voided => "voided",
                },
                e.by,
                Some(e.reason),
            ),
        };
        Self {
            pipeline,
            stage,
            sha: s.sha,
            by: s.by,
            note: s.note,
            at: rfc3339(s.at),
            state: state.to_owned(),
            ended_by,
            end_reason,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub(super) struct SignOffBody {
    /// The commit: its latest deployment to the stage succeeded.
    sha: Sha,
    /// Shown on the card and in the stage's history (at most 500 characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/pipelines/{pipeline}/stages/{stage}/signoff",
    tag = "slipway",
    summary = "Sign a commit off on a stage",
    description = "On a stage whose configuration has `sign_off`, after the commit's latest deployment there succeeded: the next stage's `signed_off` gate passes for it from now on.",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("stage" = StageId, Path, description = "The stage's config id")),
    request_body = SignOffBody,
    responses(
        (status = 201, description = "Signed off", body = SignOffJson),
        (status = 400, description = "A malformed body or query; `message` says what to fix", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not sign off here (or the stage asks for no sign-off)", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage or SHA", body = ErrorBody),
        (status = 409, description = "Not now: already signed off, not succeeded there, or moved on", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn sign_off(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath((p, s)): ApiPath<(PipelineId, StageId)>,
    ApiJson(body): ApiJson<SignOffBody>,
) -> Result<(StatusCode, Json<SignOffJson>), ApiError> {
    let at = promotion::stage(&state, &p, &s)?;
    let record = promotion::signoff::sign_off(&state, &user, &at, &body.sha, body.note.as_deref())
        .await
        .map_err(|e| ApiError::from(e).at(&p, Some(&s), Some(&body.sha)))?;
    Ok((StatusCode::CREATED, Json(SignOffJson::new(p, s, record))))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct WithdrawBody {
    /// Why, for everyone the withdrawal stops (1 to 500 characters, not only spaces).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    reason: String,
}

#[utoipa::path(
    delete,
    path = "/pipelines/{pipeline}/stages/{stage}/signoff/{sha}",
    tag = "slipway",
    summary = "Withdraw a sign-off",
    description = "Possible until the commit is queued, running or succeeded on the next stage.",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("stage" = StageId, Path, description = "The stage's config id"), ("sha" = Sha, Path, description = "The full commit SHA")),
    request_body = WithdrawBody,
    responses(
        (status = 200, description = "Withdrawn; the sign-off as it now stands", body = SignOffJson),
        (status = 400, description = "A malformed body or query; `message` says what to fix", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not sign off here (or the stage asks for no sign-off)", body = ErrorBody),
        (status = 404, description = "No such pipeline or stage, or no sign-off in force for the SHA", body = ErrorBody),
        (status = 409, description = "The commit has moved on to the next stage", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn withdraw_sign_off(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath((p, s, sha)): ApiPath<(PipelineId, StageId, Sha)>,
    ApiJson(body): ApiJson<WithdrawBody>,
) -> Result<Json<SignOffJson>, ApiError> {
    let at = promotion::stage(&state, &p, &s)?;
    let record = promotion::signoff::withdraw(&state, &user, &at, &sha, &body.reason)
        .await
        .map_err(|e| ApiError::from(e).at(&p, Some(&s), Some(&sha)))?;
    Ok(Json(SignOffJson::new(p, s, record)))
}

#[derive(Serialize, ToSchema)]
pub(super) struct FreezesAnswer {
    pipeline: PipelineId,
    /// In force or to come, by start: the config's (no `id`) and those declared.
    freezes: Vec<FreezeView>,
}

#[utoipa::path(
    get,
    path = "/pipelines/{pipeline}/freezes",
    tag = "slipway",
    summary = "A pipeline's freezes",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id")),
    responses(
        (status = 200, description = "Freezes in force or to come", body = FreezesAnswer),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn list_freezes(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath(p): ApiPath<PipelineId>,
) -> Result<Json<FreezesAnswer>, ApiError> {
    authorize(&user, Action::View)?;
    let pipeline = promotion::pipeline(&state, &p)?;
    let freezes = read::freeze_views(&state, pipeline, state.now()).await?;
    Ok(Json(FreezesAnswer {
        pipeline: p,
        freezes,
    }))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct FreezeBody {
    /// Start (RFC 3339 with an offset); absent: now.
    #[serde(default)]
    from: Option<String>,
    /// End (RFC 3339 with an offset), after the start and in the future, at most a year
    /// after the start.
    until: String,
    /// Why, shown on the gate (1 to 500 characters, not only spaces).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    reason: String,
    /// The stage ids it closes; absent or empty: every stage.
    #[serde(default)]
    stages: Vec<StageId>,
}

/// A freeze as the API returns it.
#[derive(Serialize, ToSchema)]
pub(super) struct FreezeJson {
    id: FreezeId,
    pipeline: String,
    /// Empty: every stage.
    stages: Vec<String>,
    /// RFC 3339, UTC.
    from: String,
    /// RFC 3339, UTC (the moment it was ended, if someone ended it early).
    until: String,
    reason: String,
    by: Option<String>,
    ended_by: Option<String>,
}

impl From<Freeze> for FreezeJson {
    fn from(f: Freeze) -> Self {
        Self {
            id: f.id,
            pipeline: f.pipeline,
            stages: f.stages,
            from: rfc3339(f.from),
            until: rfc3339(f.until),
            reason: f.reason,
            by: f.by,
            ended_by: f.ended_by,
        }
    }
}

fn instant(field: &str, v: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(v.trim(), &Rfc3339).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{field} = {v:?} is not a date and time: use RFC 3339 with an offset, like \"2026-12-24T18:00:00+01:00\""),
        )
    })
}

#[utoipa::path(
    post,
    path = "/pipelines/{pipeline}/freezes",
    tag = "slipway",
    summary = "Declare a freeze",
    description = "Closes the stages (all of the pipeline's when `stages` is empty) from `from` until `until`: the `no_freeze` gate refuses promotions into them meanwhile, except an emergency override.",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id")),
    request_body = FreezeBody,
    responses(
        (status = 201, description = "Declared", body = FreezeJson),
        (status = 400, description = "A malformed body, or times or stages that do not fit; `message` says what to fix", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn declare_freeze(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath(p): ApiPath<PipelineId>,
    ApiJson(body): ApiJson<FreezeBody>,
) -> Result<(StatusCode, Json<FreezeJson>), ApiError> {
    let pipeline = promotion::pipeline(&state, &p)?;
    let request = freezes::FreezeRequest {
        stages: body.stages,
        from: body
            .from
            .as_deref()
            .map(|v| instant("from", v))
            .transpose()?,
        until: instant("until", &body.until)?,
        reason: body.reason,
    };
    let freeze = freezes::declare(&state, &user, pipeline, request)
        .await
        .map_err(|e| ApiError::from(e).at(&p, None, None))?;
    Ok((StatusCode::CREATED, Json(freeze.into())))
}

#[utoipa::path(
    post,
    path = "/freezes/{id}/end",
    tag = "slipway",
    summary = "End a freeze now",
    params(("id" = FreezeId, Path, description = "The freeze's id")),
    responses(
        (status = 200, description = "Ended; the freeze as it now stands", body = FreezeJson),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such freeze in force or to come", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn end_freeze(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<FreezeId>,
) -> Result<Json<FreezeJson>, ApiError> {
    Ok(Json(freezes::end(&state, &user, id).await?.into()))
}
