//! [`HttpError`]: the error of every non-Leptos handler. Client mistakes get their
//! status and a message saying what to fix; internal errors are logged with their
//! context chain and answered with an opaque 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use slipway_model::error::{AppError, RefusalKind};

/// A handler's failure.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Not logged in.
    #[error("you are not logged in; log in at /login")]
    Unauthenticated,
    /// The policy refuses the action.
    #[error("{0}")]
    Forbidden(String),
    /// No such pipeline (or other resource).
    #[error("{0}")]
    NotFound(String),
    /// Malformed input.
    #[error("{0}")]
    BadRequest(String),
    /// A rule refused the action (a failing gate, a held lock…).
    #[error("{message}")]
    Refused {
        /// Which rule.
        kind: RefusalKind,
        /// Why.
        message: String,
    },
    /// A dependency is unavailable, or the server is shutting down: try again later.
    #[error("{0}")]
    Unavailable(String),
    /// A state-changing request from another origin.
    #[error("{0}")]
    CrossOrigin(String),
    /// Anything else; logged, never shown.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<AppError> for HttpError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthenticated => HttpError::Unauthenticated,
            AppError::Forbidden(m) => HttpError::Forbidden(m),
            AppError::Refused { kind, message } => HttpError::Refused { kind, message },
            AppError::NotFound(m) => HttpError::NotFound(m),
            AppError::BadRequest(m) | AppError::Transport(m) => HttpError::BadRequest(m),
            AppError::Unavailable(m) => HttpError::Unavailable(m),
            AppError::Internal => HttpError::Internal(anyhow::anyhow!("internal error")),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = match &self {
            HttpError::Unauthenticated => StatusCode::UNAUTHORIZED,
            HttpError::Forbidden(_) | HttpError::CrossOrigin(_) => StatusCode::FORBIDDEN,
            HttpError::NotFound(_) => StatusCode::NOT_FOUND,
            HttpError::Refused { .. } => StatusCode::CONFLICT,
            HttpError::BadRequest(_) => StatusCode::BAD_REQUEST,
            // The same status the JSON API answers for `AppError::Unavailable`.
            HttpError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, format!("{self}\n")).into_response()
    }
}
