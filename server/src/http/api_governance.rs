//! The governance part of the JSON API: sign-offs (and, as they land, approval
//! requests and freezes). Same conventions as `api.rs`: bearer tokens, JSON errors
//! with a stable `code`, a refusal naming its rule.

use super::bearer::{ApiError, ApiJson, ApiUser, ErrorBody};
use super::extract::ApiPath;
use super::json::rfc3339;
use super::surface::{RouteBook, Surface, Who};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use slipway_app::ssr::context::authorize;
use slipway_core::promotion::{approvals, freezes};
use slipway_core::store::{ApprovalRecord, Freeze, SignOffEndKind, SignOffRecord};
use slipway_core::{promotion, read, Services};
use slipway_model::views::FreezeView;
use slipway_model::{Action, DeploymentId, FreezeId, PipelineId, RequestId, Sha, StageId};
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
        .post(
            "/pipelines/{pipeline}/stages/{stage}/requests",
            Who::PromoteIntoStage,
            request_approval,
        )
        .get(
            "/pipelines/{pipeline}/stages/{stage}/requests",
            Who::May(Action::View),
            list_requests,
        )
        .post("/requests/{id}/approve", Who::ApproveRequest, approve)
        .post("/requests/{id}/reject", Who::ApproveRequest, reject)
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
    /// The iCalendar feed it comes from.
    source: Option<String>,
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
            source: f.source,
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

/// An approval request as the API returns it.
#[derive(Serialize, ToSchema)]
pub(super) struct RequestJson {
    id: RequestId,
    pipeline: String,
    stage: String,
    sha: Sha,
    requested_by: String,
    note: Option<String>,
    /// RFC 3339, UTC.
    requested_at: String,
    /// `pending`, `approved`, `rejected`, `consumed`, or `expired` (an approval that
    /// lapsed unused, replaced by a new request).
    state: String,
    decided_by: Option<String>,
    /// A rejection's reason.
    decision_reason: Option<String>,
    /// The approved slot's start and end (RFC 3339, UTC).
    slot_from: Option<String>,
    slot_until: Option<String>,
    auto_start: bool,
    outside_windows_reason: Option<String>,
    /// The deployment that used the approval.
    deployment: Option<DeploymentId>,
    /// What came of the server's start at the slot's start.
    auto_start_result: Option<String>,
}

impl From<ApprovalRecord> for RequestJson {
    fn from(r: ApprovalRecord) -> Self {
        Self {
            id: r.id,
            pipeline: r.pipeline,
            stage: r.stage,
            sha: r.sha,
            requested_by: r.requested_by,
            note: r.note,
            requested_at: rfc3339(r.requested_at),
            state: r.state.as_str().to_owned(),
            decided_by: r.decided_by,
            decision_reason: r.decision_reason,
            slot_from: r.slot.map(|s| rfc3339(s.0)),
            slot_until: r.slot.map(|s| rfc3339(s.1)),
            auto_start: r.auto_start,
            outside_windows_reason: r.outside_windows_reason,
            deployment: r.deployment,
            auto_start_result: r.auto_start_result,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub(super) struct RequestBody {
    /// The commit to promote once approved.
    sha: Sha,
    /// For the approver (at most 500 characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    note: Option<String>,
    /// Every item of the stage's checklist, where it has one: a deploy the server starts
    /// at the slot's start carries them.
    #[serde(default)]
    checklist: Vec<String>,
    /// What the requester acknowledges (migrations, drift) for the deploy the approval
    /// lets through, as on a promotion.
    #[serde(flatten)]
    acks: super::acks::AckFields,
}

#[utoipa::path(
    post,
    path = "/pipelines/{pipeline}/stages/{stage}/requests",
    tag = "slipway",
    summary = "Request approval to promote a commit",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("stage" = StageId, Path, description = "The stage's config id")),
    request_body = RequestBody,
    responses(
        (status = 201, description = "Requested; the card shows it to everyone", body = RequestJson),
        (status = 400, description = "A malformed body, or a stage that asks for no approval", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not promote into the stage", body = ErrorBody),
        (status = 404, description = "No such pipeline, stage or SHA", body = ErrorBody),
        (status = 409, description = "The SHA already has an open request there, or its checklist is incomplete", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn request_approval(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath((p, s)): ApiPath<(PipelineId, StageId)>,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<(StatusCode, Json<RequestJson>), ApiError> {
    let at = promotion::stage(&state, &p, &s)?;
    let r = approvals::request(
        &state,
        &user,
        &at,
        &body.sha,
        body.note.as_deref(),
        &body.checklist,
        &body.acks.parse()?,
    )
    .await
    .map_err(|e| ApiError::from(e).at(&p, Some(&s), Some(&body.sha)))?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[derive(Serialize, ToSchema)]
pub(super) struct RequestsAnswer {
    /// Open requests and those decided in the last day, newest first.
    requests: Vec<RequestJson>,
}

#[utoipa::path(
    get,
    path = "/pipelines/{pipeline}/stages/{stage}/requests",
    tag = "slipway",
    summary = "A stage's approval requests",
    params(("pipeline" = PipelineId, Path, description = "The pipeline's config id"), ("stage" = StageId, Path, description = "The stage's config id")),
    responses(
        (status = 200, description = "Open requests and those decided in the last day", body = RequestsAnswer),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not do this (or must change their password first)", body = ErrorBody),
        (status = 404, description = "No such pipeline or stage", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn list_requests(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath((p, s)): ApiPath<(PipelineId, StageId)>,
) -> Result<Json<RequestsAnswer>, ApiError> {
    authorize(&user, Action::View)?;
    promotion::stage(&state, &p, &s)?;
    let requests = state
        .storage
        .approval_requests(&p, Some(&s))
        .await
        .map_err(slipway_model::error::AppError::from)?;
    Ok(Json(RequestsAnswer {
        requests: requests.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct SlotBody {
    /// Start (RFC 3339 with an offset).
    from: String,
    /// End (RFC 3339 with an offset), after the start, at most 7 days later.
    until: String,
}

#[derive(Deserialize, ToSchema)]
pub(super) struct ApproveBody {
    /// The slot the approval counts in; absent: from now for the stage's
    /// `approval.valid_minutes`.
    #[serde(default)]
    slot: Option<SlotBody>,
    /// Start the deploy at the slot's start (every gate is evaluated again then).
    #[serde(default)]
    auto_start: bool,
    /// Required when the slot is not inside the stage's deploy windows.
    #[serde(default)]
    #[schema(max_length = 500)]
    outside_windows_reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/requests/{id}/approve",
    tag = "slipway",
    summary = "Approve a request for a slot",
    params(("id" = RequestId, Path, description = "The request's id")),
    request_body = ApproveBody,
    responses(
        (status = 200, description = "Approved", body = RequestJson),
        (status = 400, description = "A malformed body, a slot that does not fit, or one outside the windows without a reason", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not approve here, or requested it (four eyes)", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "The request is no longer pending", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn approve(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(body): ApiJson<ApproveBody>,
) -> Result<Json<RequestJson>, ApiError> {
    let slot = match body.slot {
        None => approvals::Slot::Now,
        Some(s) => approvals::Slot::Range {
            from: instant("slot.from", &s.from)?,
            until: instant("slot.until", &s.until)?,
        },
    };
    let decision = approvals::Approve {
        slot,
        auto_start: body.auto_start,
        outside_windows_reason: body.outside_windows_reason,
    };
    Ok(Json(
        approvals::approve(&state, &user, id, decision)
            .await?
            .into(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct RejectBody {
    /// Why, for the requester (1 to 500 characters, not only spaces).
    #[schema(min_length = 1, max_length = 500, pattern = "\\S")]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/requests/{id}/reject",
    tag = "slipway",
    summary = "Reject a request",
    params(("id" = RequestId, Path, description = "The request's id")),
    request_body = RejectBody,
    responses(
        (status = 200, description = "Rejected", body = RequestJson),
        (status = 400, description = "A malformed body; `message` says what to fix", body = ErrorBody),
        (status = 401, description = "No token, or an invalid, revoked or expired one", body = ErrorBody),
        (status = 403, description = "The token's user may not approve here", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
        (status = 409, description = "The request is no longer pending", body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody)
    ),
    security(("token" = []))
)]
pub(super) async fn reject(
    State(state): State<Services>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(body): ApiJson<RejectBody>,
) -> Result<Json<RequestJson>, ApiError> {
    Ok(Json(
        approvals::reject(&state, &user, id, &body.reason)
            .await?
            .into(),
    ))
}
