//! The governance forms of the board: sign-offs and freezes. Same conventions as
//! `actions.rs`: a redirect back with a one-time message, a 403 page for a role refusal.

use super::actions::{finish, user};
use super::error::HttpError;
use super::extract::{PageForm, PagePath};
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use slipway_app::ssr::context::CurrentUser;
use slipway_core::promotion::{self, approvals, freezes};
use slipway_core::Services;
use slipway_model::error::AppError;
use slipway_model::{FreezeId, PipelineId, RequestId, Sha, StageId};

/// A sign-off's SHA and optional note.
#[derive(Deserialize)]
pub struct SignOffForm {
    sha: Sha,
    #[serde(default)]
    note: String,
}

/// `POST /pipelines/{p}/stages/{s}/signoff`.
pub async fn sign_off(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath((p, s)): PagePath<(PipelineId, StageId)>,
    PageForm(f): PageForm<SignOffForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = format!("/pipelines/{p}");
    let result = match promotion::stage(&state, &p, &s) {
        Ok(at) => promotion::signoff::sign_off(&state, &user, &at, &f.sha, Some(&f.note)).await,
        Err(e) => Err(e),
    };
    let short = f.sha.short();
    finish(
        &state,
        result,
        |_| (format!("Signed off {short} on {s}"), back.clone()),
        back.clone(),
    )
}

/// A withdrawal's SHA and reason.
#[derive(Deserialize)]
pub struct WithdrawForm {
    sha: Sha,
    #[serde(default)]
    reason: String,
}

/// `POST /pipelines/{p}/stages/{s}/signoff/withdraw`.
pub async fn withdraw_sign_off(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath((p, s)): PagePath<(PipelineId, StageId)>,
    PageForm(f): PageForm<WithdrawForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = format!("/pipelines/{p}");
    let result = match promotion::stage(&state, &p, &s) {
        Ok(at) => promotion::signoff::withdraw(&state, &user, &at, &f.sha, &f.reason).await,
        Err(e) => Err(e),
    };
    let short = f.sha.short();
    finish(
        &state,
        result,
        |_| {
            (
                format!("Withdrew the sign-off of {short} on {s}"),
                back.clone(),
            )
        },
        back.clone(),
    )
}

/// A freeze declared on the board: how long from now, which stages, why.
#[derive(Deserialize)]
pub struct FreezeForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    hours: String,
    /// Ticked stages; none: every stage.
    #[serde(default)]
    stages: Vec<StageId>,
    /// `calendar` when posted from the calendar page (back there afterwards).
    #[serde(default)]
    from_page: String,
}

/// `POST /pipelines/{p}/freezes`: a freeze from now for a number of hours.
pub async fn declare_freeze(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath(p): PagePath<PipelineId>,
    PageForm(f): PageForm<FreezeForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = if f.from_page == "calendar" {
        format!("/pipelines/{p}/calendar")
    } else {
        format!("/pipelines/{p}")
    };
    let result = async {
        let pipeline = promotion::pipeline(&state, &p)?;
        let hours: f64 = f
            .hours
            .trim()
            .parse()
            .ok()
            .filter(|h: &f64| h.is_finite() && *h > 0.0)
            .ok_or_else(|| {
                AppError::BadRequest(format!(
                    "how long the freeze lasts must be a positive number of hours, got {:?}",
                    f.hours
                ))
            })?;
        let until = state.now() + time::Duration::seconds_f64((hours * 3600.0).min(1e9));
        freezes::declare(
            &state,
            &user,
            pipeline,
            freezes::FreezeRequest {
                stages: f.stages,
                from: None,
                until,
                reason: f.reason,
            },
        )
        .await
    }
    .await;
    finish(
        &state,
        result,
        |fr| {
            (
                format!("Freeze #{} declared: {}", fr.id, fr.reason),
                back.clone(),
            )
        },
        back.clone(),
    )
}

/// `POST /freezes/{id}/end`.
pub async fn end_freeze(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath(id): PagePath<FreezeId>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let result = freezes::end(&state, &user, id).await;
    let back = match &result {
        Ok(f) => format!("/pipelines/{}", f.pipeline),
        Err(_) => "/".to_owned(),
    };
    finish(
        &state,
        result,
        |f| (format!("Freeze #{} ended", f.id), back.clone()),
        back.clone(),
    )
}

/// A request for approval from a card.
#[derive(Deserialize)]
pub struct RequestForm {
    sha: Sha,
    #[serde(default)]
    note: String,
    #[serde(default)]
    checklist: Vec<String>,
    /// The migrations and drift checkboxes, for the deploy the approval lets through.
    #[serde(flatten)]
    acks: super::acks::AckForm,
}

/// `POST /pipelines/{p}/stages/{s}/requests`.
pub async fn request_approval(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath((p, s)): PagePath<(PipelineId, StageId)>,
    PageForm(f): PageForm<RequestForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = format!("/pipelines/{p}");
    let result = match promotion::stage(&state, &p, &s) {
        Ok(at) => match f.acks.parse() {
            Ok(acks) => {
                approvals::request(
                    &state,
                    &user,
                    &at,
                    &f.sha,
                    Some(&f.note),
                    &f.checklist,
                    &acks,
                )
                .await
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let short = f.sha.short();
    finish(
        &state,
        result,
        |r| {
            (
                format!("Approval of {short} for {s} requested (request #{})", r.id),
                back.clone(),
            )
        },
        back.clone(),
    )
}

/// An approver's form: an optional slot in the stage's local time, a server start, a
/// reason to go outside the windows.
#[derive(Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    slot_date: String,
    #[serde(default)]
    slot_from: String,
    #[serde(default)]
    slot_until: String,
    #[serde(default)]
    auto_start: Option<String>,
    #[serde(default)]
    outside_windows_reason: String,
}

/// `POST /requests/{id}/approve`.
pub async fn approve(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath(id): PagePath<RequestId>,
    PageForm(f): PageForm<ApproveForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let result = async {
        let slot = approvals::slot_from_page(&state, id, &f.slot_date, &f.slot_from, &f.slot_until)
            .await?;
        let decision = approvals::Approve {
            slot,
            auto_start: f.auto_start.is_some(),
            outside_windows_reason: Some(f.outside_windows_reason.clone()),
        };
        approvals::approve(&state, &user, id, decision).await
    }
    .await;
    let back = match &result {
        Ok(r) => format!("/pipelines/{}", r.pipeline),
        Err(_) => back_to_board(&state, id).await,
    };
    finish(
        &state,
        result,
        |r| (format!("Request #{} approved", r.id), back.clone()),
        back.clone(),
    )
}

/// A rejection's reason.
#[derive(Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    reason: String,
}

/// `POST /requests/{id}/reject`.
pub async fn reject(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath(id): PagePath<RequestId>,
    PageForm(f): PageForm<RejectForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let result = approvals::reject(&state, &user, id, &f.reason).await;
    let back = match &result {
        Ok(r) => format!("/pipelines/{}", r.pipeline),
        Err(_) => back_to_board(&state, id).await,
    };
    finish(
        &state,
        result,
        |r| (format!("Request #{} rejected", r.id), back.clone()),
        back.clone(),
    )
}

/// The board of the request's pipeline (home when there is no such request).
async fn back_to_board(state: &Services, id: RequestId) -> String {
    match state.storage.approval_request(id).await {
        Ok(Some(r)) => format!("/pipelines/{}", r.pipeline),
        _ => "/".to_owned(),
    }
}

/// `POST /profile/notifications/read`.
pub async fn mark_notifications_read(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let result = state
        .storage
        .mark_notifications_read(user.id)
        .await
        .map_err(AppError::from);
    finish(
        &state,
        result,
        |()| ("Notifications marked read".into(), "/profile".into()),
        "/profile".into(),
    )
}
