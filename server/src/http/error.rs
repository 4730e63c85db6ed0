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
        (status, format!("{self}\n")).into_response()
    }
}
