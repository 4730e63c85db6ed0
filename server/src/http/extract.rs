//! Typed extractors: where strings stop. A handler receives a `PipelineId`, a `StageId`,
//! a `DeploymentId` or a `Sha`, never the raw text, and each surface answers a malformed
//! one in its own language — the API with its JSON error, a page form with a one-time
//! message on the page the form was on.

use super::actions::redirect_with;
use super::bearer::ApiError;
use super::error::HttpError;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
// serde_html_form underneath: repeated fields (a checklist's ticked boxes) become a Vec.
use axum::http::header;
use axum::http::request::Parts;
use axum::response::Response;
use axum_extra::extract::{Form, FormRejection};
use serde::de::DeserializeOwned;
use slipway_core::Services;
use slipway_model::error::AppError;

/// What a malformed path parameter means: the URL names nothing that could exist.
fn path_error(rejection: PathRejection) -> AppError {
    let PathRejection::FailedToDeserializePathParams(e) = rejection else {
        return AppError::NotFound(rejection.body_text());
    };
    match e.into_kind() {
        // The ids' own parse errors, which say what a valid one looks like.
        ErrorKind::DeserializeError { message, .. } | ErrorKind::Message(message) => {
            AppError::NotFound(message)
        }
        // A number that is not one: deployment, token and session ids.
        ErrorKind::ParseErrorAtKey { value, .. }
        | ErrorKind::ParseErrorAtIndex { value, .. }
        | ErrorKind::ParseError { value, .. } => {
            AppError::NotFound(format!("{value:?} is not an id: ids are numbers"))
        }
        other => AppError::NotFound(format!("invalid URL: {other}")),
    }
}

/// Path parameters for the JSON API: a malformed one is a JSON 404.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Services> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(rejection) => Err(path_error(rejection).into()),
        }
    }
}

/// A query string for the JSON API: one that does not parse is a JSON 400 saying why.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Services> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(rejection) => Err(AppError::BadRequest(rejection.body_text()).into()),
        }
    }
}

/// Path parameters for pages and forms: a malformed one is a 404 page.
pub struct PagePath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Services> for PagePath<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, HttpError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(PagePath(v)),
            Err(rejection) => Err(path_error(rejection).into()),
        }
    }
}

/// A page form's fields, parsed into their types. A field that does not parse (a short
/// SHA pasted into *Mark ready*) sends the user back to the page they came from with a
/// message saying what was wrong, as a refusal would.
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Services> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Services) -> Result<Self, Response> {
        let back = same_origin_referer(&req, state).unwrap_or_else(|| "/".to_owned());
        match Form::<T>::from_request(req, state).await {
            Ok(Form(v)) => Ok(PageForm(v)),
            Err(rejection) => Err(redirect_with(
                state,
                &back,
                "error",
                form_error_message(&rejection),
            )),
        }
    }
}

/// The message of a form that does not parse: serde's, without axum's prefix.
fn form_error_message(rejection: &FormRejection) -> String {
    let text = rejection.body_text();
    let text = text
        .strip_prefix("Failed to deserialize form body: ")
        .or_else(|| text.strip_prefix("Failed to deserialize form: "))
        .unwrap_or(&text);
    format!("the form was not accepted: {text}")
}

/// The path (and query) of the page a form was posted from, when the browser says and
/// it is on this server. (Pages are served with `Referrer-Policy: same-origin`.)
fn same_origin_referer(req: &Request, state: &Services) -> Option<String> {
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    let url = url::Url::parse(referer).ok()?;
    if url.origin() != state.config.base_url.origin() {
        return None;
    }
    Some(match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    })
}
