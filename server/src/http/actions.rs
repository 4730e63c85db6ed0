//! Form handlers for board actions: mark ready, unmark, promote (or queue), withdraw a
//! queued promotion, lock, unlock, cancel.
//! Each posts, acts through the engine (which checks the policy and the gates and
//! audits), then redirects (Post/Redirect/Get). Refusals a user can act on come back as
//! a one-time message on the next page; missing resources and policy refusals are
//! answered with their status.

use super::error::HttpError;
use super::extract::{PageForm, PagePath};
use super::shown_once::{self, Secret};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;
use slipway_app::ssr::context::CurrentUser;
use slipway_app::ssr::flash::flash_cookie;
use slipway_core::promotion::{self, queue, queue::Promoted};
use slipway_core::store::User;
use slipway_core::Services;
use slipway_model::error::AppError;
use slipway_model::views::{Flash, PromoteMode};
use slipway_model::{DeploymentId, PipelineId, Sha, StageId, TokenId};

/// A redirect to `to` that carries a one-time message for the next page.
pub(super) fn redirect_with(state: &Services, to: &str, kind: &str, message: String) -> Response {
    let secure = state.config.base_url.scheme() == "https";
    let cookie = flash_cookie(
        &Flash {
            kind: kind.into(),
            message,
        },
        secure,
    );
    ([(axum::http::header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
}

/// Maps an engine result to a redirect: success and user-fixable refusals go `back`
/// with a message; everything else becomes its HTTP error.
pub(super) fn finish<T>(
    state: &Services,
    result: Result<T, AppError>,
    ok: impl FnOnce(&T) -> (String, String),
    back: String,
) -> Result<Response, HttpError> {
    match result {
        Ok(v) => {
            let (message, to) = ok(&v);
            Ok(redirect_with(state, &to, "notice", message))
        }
        // A refusal by the permission gate is a 403 like every other permission
        // refusal; the other gates' refusals are news for the board.
        Err(
            e @ (AppError::Refused { .. } | AppError::BadRequest(_) | AppError::Unavailable(_)),
        ) if e.http_status() != 403 => Ok(redirect_with(state, &back, "error", e.to_string())),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn user(u: CurrentUser) -> Result<User, HttpError> {
    u.0.ok_or(HttpError::Unauthenticated)
}

/// `sha` (and an optional note) from a card's form.
#[derive(Deserialize)]
pub struct ShaForm {
    sha: Sha,
    #[serde(default)]
    note: String,
}

/// `POST /pipelines/{p}/ready`.
pub async fn ready(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath(p): PagePath<PipelineId>,
    PageForm(f): PageForm<ShaForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = format!("/pipelines/{p}");
    let result = async {
        let pipeline = promotion::pipeline(&state, &p)?;
        promotion::mark_ready(&state, &user, pipeline, &f.sha, Some(&f.note)).await
    }
    .await;
    let short = f.sha.short();
    finish(
        &state,
        result,
        |new| {
            (
                if *new {
                    format!("Marked {short} ready")
                } else {
                    format!("{short} was already ready")
                },
                back.clone(),
            )
        },
        back.clone(),
    )
}

/// `POST /pipelines/{p}/unready`.
pub async fn unready(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath(p): PagePath<PipelineId>,
    PageForm(f): PageForm<ShaForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = format!("/pipelines/{p}");
    let result = async {
        let pipeline = promotion::pipeline(&state, &p)?;
        promotion::unmark_ready(&state, &user, pipeline, &f.sha).await
    }
    .await;
    let short = f.sha.short();
    finish(
        &state,
        result,
        |_| (format!("{short} is no longer marked ready"), back.clone()),
        back.clone(),
    )
}

/// `sha` and `stage` from a *Promote* button, and the checklist items ticked on its form.
#[derive(Deserialize)]
pub struct PromoteForm {
    sha: Sha,
    stage: StageId,
    #[serde(default)]
    checklist: Vec<String>,
    /// Only on the emergency-override form.
    emergency_reason: Option<String>,
    /// The migrations and drift checkboxes (`true` when ticked) and their notes.
    #[serde(flatten)]
    acks: super::acks::AckForm,
    /// The *promote when the artifact is there* button: queue it where the missing
    /// artifact is all that holds it.
    #[serde(default, deserialize_with = "super::acks::checkbox")]
    wait_for_artifact: bool,
    /// Replace the stage's queued promotion of another SHA.
    #[serde(default, deserialize_with = "super::acks::checkbox")]
    replace_queued: bool,
    /// Sent by the confirmation (page or dialog): a form promotion into production
    /// without it is sent to the confirmation instead.
    #[serde(default, deserialize_with = "super::acks::checkbox")]
    confirmed: bool,
}

impl PromoteForm {
    /// Which of the card's promote forms this is.
    fn mode(&self) -> PromoteMode {
        if self.emergency_reason.is_some() {
            PromoteMode::EmergencyOverride
        } else if self.wait_for_artifact {
            PromoteMode::WhenArtifactIsThere
        } else {
            PromoteMode::Now
        }
    }
}

/// `POST /pipelines/{p}/promote`: to the deployment page on success.
pub async fn promote(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath(p): PagePath<PipelineId>,
    PageForm(f): PageForm<PromoteForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = format!("/pipelines/{p}");
    let at = promotion::stage(&state, &p, &f.stage)?;
    if at.stage().production && !f.confirmed {
        // Production is never one click away: whatever posted this (an old page, a
        // hand-made form), the promoter sees what goes out and confirms it first.
        let confirm = format!(
            "/pipelines/{p}/stages/{}/confirm?sha={}&mode={}",
            f.stage,
            f.sha,
            f.mode()
        );
        return Ok(redirect_with(
            &state,
            &confirm,
            "error",
            format!(
                "Confirm the deployment to {} first: check what goes out, then confirm",
                at.stage().label
            ),
        ));
    }
    let result = async {
        let options = promotion::PromoteOptions {
            checklist: f.checklist,
            emergency_reason: f.emergency_reason,
            acks: f.acks.parse()?,
        };
        if f.wait_for_artifact {
            queue::promote_or_queue(&state, &user, &at, &f.sha, &options, f.replace_queued).await
        } else {
            promotion::promote(&state, &user, &at, &f.sha, &options)
                .await
                .map(Promoted::Started)
        }
    }
    .await;
    finish(
        &state,
        result,
        |done| match done {
            Promoted::Started(d) => (
                format!(
                    "Deployment #{} of {} to {} started",
                    d.id,
                    d.sha.short(),
                    d.stage
                ),
                format!("/deployments/{}", d.id),
            ),
            Promoted::Queued(q) => (
                format!(
                    "Queued: {} goes to {} when its artifact is there",
                    q.sha.short(),
                    q.stage
                ),
                back.clone(),
            ),
        },
        back.clone(),
    )
}

/// `POST /pipelines/{p}/stages/{s}/queue/withdraw`: withdraws the promotion queued there.
pub async fn withdraw_queued(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath((p, s)): PagePath<(PipelineId, StageId)>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = format!("/pipelines/{p}");
    let result = async {
        let at = promotion::stage(&state, &p, &s)?;
        queue::withdraw(&state, &user, &at).await
    }
    .await;
    finish(
        &state,
        result,
        |q| {
            (
                format!(
                    "Withdrew the queued promotion of {} into {}",
                    q.sha.short(),
                    q.stage
                ),
                back.clone(),
            )
        },
        back.clone(),
    )
}

/// A lock's reason and optional expiry.
#[derive(Deserialize)]
pub struct LockForm {
    reason: String,
    #[serde(default)]
    minutes: String,
}

/// `POST /pipelines/{p}/stages/{s}/lock`.
pub async fn lock(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath((p, s)): PagePath<(PipelineId, StageId)>,
    PageForm(f): PageForm<LockForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = format!("/pipelines/{p}");
    let minutes = match f.minutes.trim() {
        "" => Ok(None),
        m => m.parse::<i64>().map(Some).map_err(|_| {
            AppError::BadRequest(format!("the expiry must be a number of minutes, got {m:?}"))
        }),
    };
    let result = match minutes {
        Ok(m) => match promotion::stage(&state, &p, &s) {
            Ok(at) => promotion::lock(&state, &user, &at, &f.reason, m).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    finish(
        &state,
        result,
        |_| (format!("Locked {s}"), back.clone()),
        back.clone(),
    )
}

/// `POST /pipelines/{p}/stages/{s}/unlock`.
pub async fn unlock(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath((p, s)): PagePath<(PipelineId, StageId)>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = format!("/pipelines/{p}");
    let result = match promotion::stage(&state, &p, &s) {
        Ok(at) => promotion::unlock(&state, &user, &at).await,
        Err(e) => Err(e),
    };
    finish(
        &state,
        result,
        |_| (format!("Unlocked {s}"), back.clone()),
        back.clone(),
    )
}

/// `POST /deployments/{id}/cancel`.
pub async fn cancel(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath(id): PagePath<DeploymentId>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = format!("/deployments/{id}");
    let result = promotion::cancel(&state, &user, id).await;
    finish(
        &state,
        result,
        |_| (format!("Cancelling deployment #{id}"), back.clone()),
        back.clone(),
    )
}

/// A rollback's reason, and the acknowledgement of the migrations it steps back over.
#[derive(Deserialize)]
pub struct RollbackForm {
    #[serde(default)]
    reason: String,
    #[serde(flatten)]
    acks: super::acks::AckForm,
}

/// `POST /pipelines/{p}/stages/{s}/rollback`: to the deployment page on success.
pub async fn rollback(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath((p, s)): PagePath<(PipelineId, StageId)>,
    PageForm(f): PageForm<RollbackForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let back = format!("/pipelines/{p}");
    let result = async {
        let at = promotion::stage(&state, &p, &s)?;
        promotion::rollback(&state, &user, &at, &f.reason, &f.acks.parse()?).await
    }
    .await;
    finish(
        &state,
        result,
        |d| {
            (
                format!(
                    "Rollback #{} of {} to {} started",
                    d.id,
                    d.stage,
                    d.sha.short()
                ),
                format!("/deployments/{}", d.id),
            )
        },
        back,
    )
}

/// A new token's name.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
}

/// `POST /profile/tokens`: answers with a page that shows the token once (it is never
/// stored in plaintext, not even in the session for a redirect).
pub async fn create_token(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PageForm(f): PageForm<TokenForm>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    match slipway_core::accounts::create_token(&state, &user, &f.name).await {
        Ok((token, plaintext)) => Ok(shown_once::page(
            format!("New API token “{}”", token.name),
            &plaintext,
            Secret::ApiToken,
            ("/profile", "Back to your profile"),
        )),
        Err(e) => finish(
            &state,
            Err::<(), _>(e),
            |_| (String::new(), String::new()),
            "/profile".into(),
        ),
    }
}

/// `POST /profile/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<Services>,
    Extension(u): Extension<CurrentUser>,
    PagePath(id): PagePath<TokenId>,
) -> Result<Response, HttpError> {
    let user = user(u)?;
    let result = slipway_core::accounts::revoke_token(&state, &user, id).await;
    finish(
        &state,
        result,
        |_| (format!("Token #{id} revoked"), "/profile".into()),
        "/profile".into(),
    )
}
