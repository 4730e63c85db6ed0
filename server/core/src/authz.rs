//! Authorization and the one way internal errors become user-facing ones.

use crate::store::User;
use slipway_model::{Action, AppError};

/// Checks the role policy for a known user: `Forbidden`, naming their roles and the
/// action, when it does not allow `action`.
pub fn authorize(user: &User, action: Action) -> Result<(), AppError> {
    if action.is_permitted_for(user.roles) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "your roles ({}) do not allow you to {}",
            if user.roles.is_empty() {
                "none".to_owned()
            } else {
                user.roles.to_string()
            },
            action.describe()
        )))
    }
}

/// Logs an internal error with its full chain and returns the opaque
/// [`AppError::Internal`]: details stay in the server log.
pub fn internal(err: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %err, "internal error");
    AppError::Internal
}
