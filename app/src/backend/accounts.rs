//! Account self-service: API tokens (created shown-once, revoked), audited.

use crate::backend::context::internal;
use crate::backend::storage::{ApiToken, NewAudit, User};
use crate::backend::{tokens, AppState};
use crate::error::AppError;

async fn audit(
    state: &AppState,
    user: &User,
    action: &str,
    target: String,
    detail: Option<String>,
) {
    let entry = NewAudit {
        actor: Some(user.name.to_string()),
        action: action.into(),
        target: Some(target),
        outcome: "ok".into(),
        detail,
        ..NewAudit::default()
    };
    if let Err(e) = state.storage.audit(entry).await {
        tracing::error!(error = %e, "failed to write the audit log");
    }
}

/// Creates a token for `user`; returns it with its plaintext, which is never stored.
pub async fn create_token(
    state: &AppState,
    user: &User,
    name: &str,
) -> Result<(ApiToken, String), AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::BadRequest(
            "give the token a name of 1 to 100 characters (e.g. \"CI on main\")".into(),
        ));
    }
    let plaintext = tokens::generate();
    let token = state
        .storage
        .create_token(
            user.id,
            name,
            &tokens::hash(&plaintext),
            &tokens::display_prefix(&plaintext),
        )
        .await
        .map_err(internal)?;
    audit(
        state,
        user,
        "token_created",
        format!("token #{} ({})", token.id, token.prefix),
        Some(name.to_owned()),
    )
    .await;
    Ok((token, plaintext))
}

/// Revokes one of `user`'s own tokens.
pub async fn revoke_token(state: &AppState, user: &User, id: i64) -> Result<(), AppError> {
    if state
        .storage
        .revoke_token(user.id, id)
        .await
        .map_err(internal)?
    {
        audit(state, user, "token_revoked", format!("token #{id}"), None).await;
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "you have no active token #{id}"
        )))
    }
}
