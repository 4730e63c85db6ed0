//! User administration, for the admin page and `slipway user …` alike: create, set
//! roles, disable or enable, reset a password, list. Each checks the policy through
//! [`Actor`] (so no door skips it) and is audited.

use super::{new_password, parse_name, passwords, storage_error, tokens, Actor};
use crate::authz::internal;
use crate::store::{Storage, User};
use passwords::Password;
use slipway_model::audit::AuditAction;
use slipway_model::error::AppError;
use slipway_model::{Role, RoleSet};

/// Parses role names (from a form's checkboxes or the CLI), requiring at least one.
pub fn parse_roles<S: AsRef<str>>(names: &[S]) -> Result<RoleSet, AppError> {
    let roles: RoleSet = names
        .iter()
        .map(|n| Role::parse(n.as_ref().trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppError::BadRequest(e.to_string()))?
        .into();
    if roles.is_empty() {
        return Err(AppError::BadRequest(
            "give the user at least one role (viewer, dev, qa, ops, admin); to take all access away, disable the user instead".into(),
        ));
    }
    Ok(roles)
}

async fn find_user(storage: &dyn Storage, name: &str) -> Result<User, AppError> {
    let name = parse_name(name)?;
    storage
        .user_by_name(&name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("there is no user named \"{name}\"")))
}

/// The hash of `password`, or of a generated temporary one (returned to be shown once)
/// when an admin left the password to the server.
async fn hash_or_generate(
    password: Option<Password>,
) -> Result<(String, Option<String>), AppError> {
    let (password, temporary) = match password {
        Some(p) => (p, None),
        None => {
            let t = tokens::temporary_password();
            (new_password(t.clone())?, Some(t))
        }
    };
    let hash = passwords::hash(password).await?;
    Ok((hash, temporary))
}

/// Creates a user. Without `password`, a temporary one is generated and returned (to
/// show once), and the user must choose their own at first login.
pub async fn create_user(
    storage: &dyn Storage,
    actor: Actor<'_>,
    name: &str,
    roles: RoleSet,
    password: Option<Password>,
) -> Result<(User, Option<String>), AppError> {
    actor.authorize()?;
    let name = parse_name(name)?;
    let (hash, temporary) = hash_or_generate(password).await?;
    let user = storage
        .create_user(&name, &hash, roles, temporary.is_some())
        .await
        .map_err(storage_error)?;
    actor
        .audit(
            storage,
            AuditAction::UserCreated,
            &user.name,
            Some(format!("roles: {}", user.roles)),
        )
        .await;
    Ok((user, temporary))
}

/// Replaces a user's roles (never leaving the instance without an enabled admin).
pub async fn set_roles(
    storage: &dyn Storage,
    actor: Actor<'_>,
    name: &str,
    roles: RoleSet,
) -> Result<User, AppError> {
    actor.authorize()?;
    let user = find_user(storage, name).await?;
    if user.roles == roles {
        return Ok(user);
    }
    storage
        .set_roles(user.id, roles)
        .await
        .map_err(storage_error)?;
    actor
        .audit(
            storage,
            AuditAction::UserRolesChanged,
            &user.name,
            Some(format!("{} → {}", user.roles, roles)),
        )
        .await;
    Ok(User { roles, ..user })
}

/// Disables a user (ending all their sessions at once) or enables them again.
pub async fn set_disabled(
    storage: &dyn Storage,
    actor: Actor<'_>,
    name: &str,
    disabled: bool,
) -> Result<User, AppError> {
    actor.authorize()?;
    let user = find_user(storage, name).await?;
    if disabled && actor.is(&user) {
        return Err(AppError::BadRequest(
            "you cannot disable your own account; ask another admin".into(),
        ));
    }
    if user.disabled == disabled {
        return Ok(user);
    }
    storage
        .set_disabled(user.id, disabled)
        .await
        .map_err(storage_error)?;
    let detail = if disabled {
        let ended = storage.end_login_sessions_of(user.id, None).await?;
        Some(format!("{ended} open session(s) ended"))
    } else {
        None
    };
    let action = if disabled {
        AuditAction::UserDisabled
    } else {
        AuditAction::UserEnabled
    };
    actor.audit(storage, action, &user.name, detail).await;
    Ok(User { disabled, ..user })
}

/// Resets a user's password to `password` or, without one, to a generated temporary
/// password (returned, to show once). The user must change it at their next login,
/// and every session they have open ends now.
pub async fn reset_password(
    storage: &dyn Storage,
    actor: Actor<'_>,
    name: &str,
    password: Option<Password>,
    tokens: Tokens,
) -> Result<(User, Option<String>), AppError> {
    actor.authorize()?;
    let user = find_user(storage, name).await?;
    if actor.is(&user) {
        return Err(AppError::BadRequest(
            "to change your own password, use the form on your profile page".into(),
        ));
    }
    let (hash, temporary) = hash_or_generate(password).await?;
    storage
        .set_password(user.id, &hash, true)
        .await
        .map_err(storage_error)?;
    let ended = storage.end_login_sessions_of(user.id, None).await?;
    let revoked = match tokens {
        Tokens::Revoke => storage.revoke_tokens_of(user.id).await?,
        Tokens::Keep => 0,
    };
    actor
        .audit(
            storage,
            AuditAction::PasswordReset,
            &user.name,
            Some(format!(
                "must change it at next login; {ended} open session(s) ended; {revoked} API token(s) revoked"
            )),
        )
        .await;
    Ok((
        User {
            must_change_password: true,
            ..user
        },
        temporary,
    ))
}

/// What a password reset or change does to the user's API tokens. A reset usually
/// means the account may be in someone else's hands, so admin resets revoke them unless
/// told otherwise; a user changing their own password chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    /// Revoke every token of the user.
    Revoke,
    /// Leave them in force.
    Keep,
}

/// Every user, for the admin page and `slipway user list`.
pub async fn list_users(storage: &dyn Storage, actor: Actor<'_>) -> Result<Vec<User>, AppError> {
    actor.authorize()?;
    storage.list_users().await.map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_lists_need_at_least_one_known_role() {
        assert!(parse_roles(&["qa", "ops"]).is_ok());
        let none: [&str; 0] = [];
        let e = parse_roles(&none).unwrap_err().to_string();
        assert!(e.contains("at least one role"), "{e}");
        let e = parse_roles(&["root"]).unwrap_err().to_string();
        assert!(e.contains("root"), "{e}");
    }
}
