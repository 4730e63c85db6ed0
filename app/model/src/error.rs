//! [`AppError`]: the error type of every server function. It crosses the wire to the
//! browser, so it carries only what a user may see: internal details are logged on the
//! server and replaced by [`AppError::Internal`].

use crate::gates::GateKind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which rule refused an action: a promotion gate, or one of the rules outside the
/// gate table. The name is the API's stable error `code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The SHA did not succeed on the previous stage (or is not marked ready).
    PreviousStage,
    /// The SHA is not signed off on the previous stage.
    SignedOff,
    /// No approval of the SHA covers now.
    Approved,
    /// The SHA does not descend from the stage's current SHA.
    Ancestry,
    /// Another deployment to the stage is queued or running (or the stage kept
    /// changing while the promotion was checked).
    Busy,
    /// Somebody holds a lock on the stage.
    Lock,
    /// The user's roles may not promote into the stage.
    Permission,
    /// The stage's deploy window is closed.
    Window,
    /// A freeze closes the stage.
    NoFreeze,
    /// Migration files the promotion did not acknowledge.
    Migrations,
    /// A stage the target requires healthy is not.
    Health,
    /// The stage drifted from its recorded SHA and the promotion did not acknowledge it.
    Drift,
    /// The build of the SHA is not there (yet).
    Artifact,
    /// A required CI check is not green for the SHA.
    Ci,
    /// A promotion is already queued for the stage (replace it explicitly).
    Queued,
    /// The SHA is not on the pipeline's branch.
    UnknownCommit,
    /// The deployment is not in a state that allows the action (cancel after the end).
    State,
    /// A rollback has nothing to go back to.
    RollbackTarget,
    /// The promotion did not confirm every item of the stage's checklist.
    Checklist,
}

impl RefusalKind {
    /// The stable machine name (API `code`).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::PreviousStage => "previous_stage",
            RefusalKind::SignedOff => "signed_off",
            RefusalKind::Approved => "approved",
            RefusalKind::Ancestry => "ancestry",
            RefusalKind::Busy => "busy",
            RefusalKind::Lock => "lock",
            RefusalKind::Permission => "permission",
            RefusalKind::Window => "window",
            RefusalKind::NoFreeze => "no_freeze",
            RefusalKind::Migrations => "migrations",
            RefusalKind::Health => "health",
            RefusalKind::Drift => "drift",
            RefusalKind::Artifact => "artifact",
            RefusalKind::Ci => "ci",
            RefusalKind::Queued => "queued",
            RefusalKind::UnknownCommit => "unknown_commit",
            RefusalKind::State => "state",
            RefusalKind::RollbackTarget => "rollback_target",
            RefusalKind::Checklist => "checklist",
        }
    }
}

impl From<GateKind> for RefusalKind {
    fn from(gate: GateKind) -> Self {
        match gate {
            GateKind::PreviousStage => RefusalKind::PreviousStage,
            GateKind::SignedOff => RefusalKind::SignedOff,
            GateKind::Approved => RefusalKind::Approved,
            GateKind::Ancestry => RefusalKind::Ancestry,
            GateKind::Busy => RefusalKind::Busy,
            GateKind::Lock => RefusalKind::Lock,
            GateKind::Permission => RefusalKind::Permission,
            GateKind::Window => RefusalKind::Window,
            GateKind::NoFreeze => RefusalKind::NoFreeze,
            GateKind::Migrations => RefusalKind::Migrations,
            GateKind::Health => RefusalKind::Health,
            GateKind::Drift => RefusalKind::Drift,
            GateKind::Artifact => RefusalKind::Artifact,
            GateKind::Ci => RefusalKind::Ci,
        }
    }
}

impl fmt::Display for RefusalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// A promotion gate (or another rule) refused the action; `kind` names it.
    #[error("{message}")]
    Refused {
        /// Which rule refused.
        kind: RefusalKind,
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

impl AppError {
    /// The HTTP status this error is answered with, wherever it is answered — pages,
    /// forms and the JSON API use this one mapping. A number, so the model stays free
    /// of HTTP crates.
    pub fn http_status(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            // The permission gate refuses like any gate (and shows on the card like
            // one), but to the caller it is what it is: not allowed.
            AppError::Forbidden(_)
            | AppError::Refused {
                kind: RefusalKind::Permission,
                ..
            } => 403,
            AppError::NotFound(_) => 404,
            AppError::BadRequest(_) | AppError::Transport(_) => 400,
            AppError::Refused { .. } => 409,
            // Shutting down, or a dependency down: worth retrying later.
            AppError::Unavailable(_) => 503,
            AppError::Internal => 500,
        }
    }

    /// The API's stable error `code`.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden(_)
            | AppError::Refused {
                kind: RefusalKind::Permission,
                ..
            } => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::BadRequest(_) | AppError::Transport(_) => "bad_request",
            AppError::Refused { .. } => "refused",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal => "internal",
        }
    }
}

/// A malformed SHA in a request is the caller's mistake; the message says what a SHA
/// looks like.
impl From<crate::sha::ShaError> for AppError {
    fn from(e: crate::sha::ShaError) -> Self {
        AppError::BadRequest(e.to_string())
    }
}

impl AppError {
    /// A malformed identifier in a URL: it names nothing that could exist, so the answer
    /// is "not found", with what a valid one looks like.
    pub fn no_such(e: crate::ids::IdError) -> Self {
        AppError::NotFound(e.to_string())
    }
}

/// A malformed identifier in a request body is the caller's mistake (in a URL,
/// see [`AppError::no_such`]).
impl From<crate::ids::IdError> for AppError {
    fn from(e: crate::ids::IdError) -> Self {
        AppError::BadRequest(e.to_string())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_one_status_and_an_api_code() {
        let unavailable = AppError::Unavailable("shutting down".into());
        assert_eq!(
            (unavailable.http_status(), unavailable.code()),
            (503, "unavailable")
        );
        let refused = AppError::Refused {
            kind: RefusalKind::Busy,
            message: "busy".into(),
        };
        assert_eq!((refused.http_status(), refused.code()), (409, "refused"));
        assert_eq!(AppError::Internal.http_status(), 500);
    }

    #[test]
    fn a_gate_refuses_under_the_gate_s_own_name() {
        for gate in crate::gates::GATES.iter().map(|(kind, _)| *kind) {
            assert_eq!(RefusalKind::from(gate).as_str(), gate.as_str());
        }
        let json = serde_json::to_string(&RefusalKind::UnknownCommit).expect("serialise");
        assert_eq!(json, "\"unknown_commit\"");
    }
}
