//! What every bearer-token request shares — the API's JSON errors, the token's user,
//! JSON bodies whose rejections say what was wrong — so that the API routes and the
//! event stream (which also takes a session) depend on this, not on each other.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::headers::authorization::Bearer;
use axum_extra::headers::Authorization;
use axum_extra::TypedHeader;
use serde::Serialize;
use slipway_core::store::User;
use slipway_core::{tokens, Services};
use slipway_model::error::AppError;
use slipway_model::{PipelineId, Sha, StageId};

/// An API error: `{"code": "...", "message": "...", "gate"?, "pipeline"?, "stage"?,
/// "sha"?}`. A refusal names where it happened, in its fields and in its message, so a
/// CI log line alone says what was refused.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    gate: Option<String>,
    /// Where, when the request was about a pipeline (boxed: most errors have none).
    place: Option<Box<Place>>,
}

#[derive(Debug)]
struct Place {
    pipeline: String,
    stage: Option<String>,
    sha: Option<String>,
}

/// Every API error's body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// Stable machine code: `unauthenticated`, `forbidden`, `not_found`,
    /// `bad_request`, `refused`, `unavailable` or `internal`.
    code: &'a str,
    /// What went wrong and how to fix it, for a person.
    message: &'a str,
    /// The refusing gate, when a gate refused (`permission`, `previous_stage`,
    /// `ancestry`, `busy`, `lock`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    gate: Option<&'a str>,
    /// The pipeline the request was about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pipeline: Option<&'a str>,
    /// The stage the request was about.
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<&'a str>,
    /// The SHA the request was about.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha: Option<&'a str>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            gate: None,
            place: None,
        }
    }

    /// Names the pipeline, stage and SHA a request was about. A refusal's message then
    /// starts with them: "web/production, 1a2b3c4: …".
    pub(super) fn at(
        mut self,
        pipeline: &PipelineId,
        stage: Option<&StageId>,
        sha: Option<&Sha>,
    ) -> Self {
        // Refusals by a gate (the permission gate's 403 included) name where they were.
        if self.code == "refused" || self.gate.is_some() {
            let place = match stage {
                Some(s) => format!("{pipeline}/{s}"),
                None => pipeline.to_string(),
            };
            let what = sha.map(|s| format!(", {}", s.short())).unwrap_or_default();
            self.message = format!("{place}{what}: {}", self.message);
        }
        self.place = Some(Box::new(Place {
            pipeline: pipeline.to_string(),
            stage: stage.map(ToString::to_string),
            sha: sha.map(ToString::to_string),
        }));
        self
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self {
            gate: match &e {
                AppError::Refused { kind, .. } => Some(kind.as_str().to_owned()),
                _ => None,
            },
            ..Self::new(super::error::status_of(&e), e.code(), e.to_string())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: &self.message,
            gate: self.gate.as_deref(),
            pipeline: self.place.as_ref().map(|p| p.pipeline.as_str()),
            stage: self.place.as_ref().and_then(|p| p.stage.as_deref()),
            sha: self.place.as_ref().and_then(|p| p.sha.as_deref()),
        };
        super::error::with_retry_after((self.status, Json(body)).into_response())
    }
}

/// The user behind the request's bearer token.
pub struct ApiUser(pub User);

impl FromRequestParts<Services> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Services,
    ) -> Result<Self, Self::Rejection> {
        let unauthenticated =
            |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", m);
        let TypedHeader(Authorization(bearer)) =
            TypedHeader::<Authorization<Bearer>>::from_request_parts(parts, state)
                .await
                .map_err(|rejection| {
                    unauthenticated(if rejection.is_missing() {
                        "send an API token as `Authorization: Bearer slw_…` (create one on your profile page)"
                    } else {
                        "the Authorization header must be `Bearer <token>`"
                    })
                })?;
        let token = bearer.token().trim();
        if !tokens::looks_valid(token) {
            return Err(unauthenticated("invalid or revoked API token"));
        }
        let user = state
            .storage
            .user_by_token(&tokens::hash(token))
            .await
            .map_err(AppError::from)?
            .filter(|u| !u.disabled)
            .ok_or_else(|| unauthenticated("invalid or revoked API token"))?;
        refuse_until_password_changed(&user)?;
        Ok(ApiUser(user))
    }
}

/// A user who must change their password (after a reset, say) may do nothing else
/// until they have, by token or by cookie: a reset exists because the account may be
/// in other hands.
pub(super) fn refuse_until_password_changed(user: &User) -> Result<(), ApiError> {
    if user.must_change_password {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} must change their password before anything else: log in on the web page and choose a new one",
                user.name
            ),
        ));
    }
    Ok(())
}

/// `Json<T>` whose rejections are API errors that say what was wrong with the body.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<Services> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Services) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(ApiError::new(
                match rejection {
                    JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    _ => StatusCode::BAD_REQUEST,
                },
                "bad_request",
                rejection.body_text(),
            )),
        }
    }
}
