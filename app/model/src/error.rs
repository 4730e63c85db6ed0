//! [`AppError`]: the error type of every server function. It crosses the wire to the
//! browser, so it carries only what a user may see: internal details are logged on the
//! server and replaced by [`AppError::Internal`].

use serde::{Deserialize, Serialize};

/// What went wrong, as a user may be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Not logged in (or the session expired).
    #[error("you are not logged in (or your session expired); log in again")]
    Unauthenticated,
    /// Logged in, but the roles do not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// The pipeline, stage or commit does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request was malformed; the message says how to fix it.
    #[error("{0}")]
    BadRequest(String),
    /// A promotion gate (or another rule) refused the action; `gate` names it.
    #[error("{message}")]
    Refused {
        /// The refusing gate's machine name (e.g. `ancestry`, `busy`).
        gate: String,
        /// Why, in one line.
        message: String,
    },
    /// A dependency (git, the repository) failed in a way the user should know about.
    #[error("{0}")]
    Unavailable(String),
    /// Something broke on the server; details are in the server log.
    #[error("internal error (details are in the server log)")]
    Internal,
    /// The call itself failed (network, encoding).
    #[error("{0}")]
    Transport(String),
}

// Server functions need their error type to implement this trait, and the orphan rule
// puts the impl here; the feature keeps Leptos out of the server core's dependencies.
#[cfg(feature = "server-fn")]
impl server_fn::error::FromServerFnError for AppError {
    type Encoder = server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
