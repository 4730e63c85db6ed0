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

/// The role policy as the README's table shows it: one row per thing Slipway lets
/// someone do, one column per role held alone. Rendered from [`Action::is_permitted_for`]
/// and the config defaults, and compared with the README by a test, so the two cannot
/// drift apart again.
pub fn policy_table() -> String {
    use crate::config::defaults;
    use slipway_model::{Role, RoleSet};
    let promote = |production| defaults::promote_roles(production);
    let rows: Vec<(&str, Action)> = vec![
        ("read boards, deployments and logs", Action::View),
        ("refresh a repository", Action::RefreshRepository),
        ("mark and unmark a commit ready", Action::MarkReady),
        (
            "promote into a stage (default `promote_roles`)",
            Action::PromoteInto {
                allowed: promote(false),
            },
        ),
        (
            "promote into production (default `promote_roles`)",
            Action::PromoteInto {
                allowed: promote(true),
            },
        ),
        (
            "roll a stage back (default `rollback_roles`)",
            Action::Rollback {
                allowed: defaults::rollback_roles(promote(false)),
            },
        ),
        (
            "roll production back (default `rollback_roles`)",
            Action::Rollback {
                allowed: defaults::rollback_roles(promote(true)),
            },
        ),
        ("lock or unlock a stage", Action::Lock { production: false }),
        (
            "lock or unlock a production stage",
            Action::Lock { production: true },
        ),
        ("cancel a deployment", Action::Cancel),
        ("manage users", Action::ManageUsers),
        ("read and export the audit log", Action::ViewAudit),
    ];
    let mut out = String::from("| may… |");
    for role in Role::ALL {
        out.push_str(&format!(" `{role}` |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(Role::ALL.len()));
    for (what, action) in rows {
        out.push_str(&format!("\n| {what} |"));
        for role in Role::ALL {
            let alone: RoleSet = [role].into_iter().collect();
            out.push_str(if action.is_permitted_for(alone) {
                " ✓ |"
            } else {
                " |"
            });
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_shows_the_policy_the_code_enforces() {
        let readme = include_str!("../../../README.md");
        let table = super::policy_table();
        assert!(
            readme.contains(&table),
            "README.md's role table differs from the policy; replace it with:\n\n{table}"
        );
    }
}
