//! [`HttpError`]: the error of every non-Leptos handler. Client mistakes get their
//! status and a message saying what to fix; internal errors are logged with their
//! context chain and answered with an opaque 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use slipway_model::error::AppError;

/// The status `e` is answered with: the model's one mapping, as axum's type.
pub fn status_of(e: &AppError) -> StatusCode {
    StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// How long a client should wait before retrying a 503 (seconds): long enough for a
/// restart to come back, short enough for a script's retry loop.
pub const RETRY_AFTER_SECS: &str = "5";

/// Adds `Retry-After` to a 503: the one status whose cause is worth waiting out.
pub fn with_retry_after(mut res: Response) -> Response {
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    res
}

/// A handler's failure.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Not logged in (the form side's wording: where to log in).
    #[error("you are not logged in; log in at /login")]
    Unauthenticated,
    /// What the core refused or could not do, as a user may be told.
    #[error(transparent)]
    App(AppError),
    /// A state-changing request from another origin.
    #[error("{0}")]
    CrossOrigin(String),
    /// Anything else; logged, never shown.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl HttpError {
    /// A resource that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        HttpError::App(AppError::NotFound(message.into()))
    }

    /// An action the policy refuses.
    pub fn forbidden(message: impl Into<String>) -> Self {
        HttpError::App(AppError::Forbidden(message.into()))
    }
}

impl From<AppError> for HttpError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthenticated => HttpError::Unauthenticated,
            // Already logged where it happened.
            AppError::Internal => HttpError::Internal(anyhow::anyhow!("internal error")),
            other => HttpError::App(other),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = match &self {
            HttpError::Unauthenticated => StatusCode::UNAUTHORIZED,
            HttpError::App(e) => status_of(e),
            HttpError::CrossOrigin(_) => StatusCode::FORBIDDEN,
            HttpError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        with_retry_after((status, format!("{self}\n")).into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_service_answers_503_with_retry_after_on_forms_too() {
        let res = HttpError::from(AppError::Unavailable("shutting down".into())).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            res.headers()
                .get(axum::http::header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(RETRY_AFTER_SECS.as_bytes())
        );
        let refused = HttpError::from(AppError::BadRequest("no".into())).into_response();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(refused
            .headers()
            .get(axum::http::header::RETRY_AFTER)
            .is_none());
    }
}
