//! Accounts: who may log in and what they may do to accounts.
//!
//! - [`login`]: checking a name and password (throttled, equal time for unknown
//!   users, failures audited) and resuming a login from a session.
//! - [`admin`]: user administration (create, roles, disable, reset, list), for the
//!   admin page and the CLI alike.
//! - [`self_service`]: what users do to their own account (password, sessions, API
//!   tokens).
//! - [`setup`]: the one-time link that creates the first admin.
//!
//! Every change is audited, and admin actions check the policy here, whichever door
//! (page, CLI) they came through. The web layers only carry forms and cookies.

pub mod admin;
pub mod login;
pub mod passwords;
pub mod self_service;
pub mod setup;
pub mod tokens;

pub use admin::{
    create_user, list_users, parse_roles, reset_password, set_disabled, set_roles, Tokens,
};
pub use login::{authenticate, reserve_attempt, resume, start, LoginRefusal};
pub use self_service::{
    change_own_password, create_token, describe_user_agent, end_own_session, revoke_token,
    PasswordChange,
};
pub use setup::{complete_setup, issue_setup_link, setup_link_is_valid, SETUP_LINK_LIFETIME};

use crate::audit;
use crate::store::{NewAudit, Storage, StorageError, User};
use passwords::Password;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::error::AppError;
use slipway_model::{Action, UserName};

/// An audit entry about the account `target`.
fn account_entry(
    actor: Option<String>,
    action: AuditAction,
    target: &str,
    outcome: Outcome,
    detail: Option<String>,
) -> NewAudit {
    let mut entry = NewAudit::new(action, outcome);
    entry.actor = actor;
    entry.target = Some(target.to_owned());
    entry.detail = detail;
    entry
}

/// Audits a successful action of `user` on `target` (their own account, token or
/// session).
async fn audit_own(
    storage: &dyn Storage,
    user: &User,
    action: AuditAction,
    target: String,
    detail: Option<String>,
) {
    let actor = Some(user.name.to_string());
    let entry = account_entry(actor, action, &target, Outcome::Ok, detail);
    audit::record(storage, entry).await;
}

/// Who is changing accounts: a logged-in admin (checked against the policy here, not
/// only by the page that shows the button) or the operator at the command line (who
/// already holds the database file).
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    /// A user acting through the web UI.
    User(&'a User),
    /// `slipway user …` on the server's machine.
    CommandLine,
}

impl Actor<'_> {
    fn authorize(&self) -> Result<(), AppError> {
        match self {
            Actor::User(u) => crate::authz::authorize(u, Action::ManageUsers),
            Actor::CommandLine => Ok(()),
        }
    }

    fn is(&self, target: &User) -> bool {
        matches!(self, Actor::User(u) if u.id == target.id)
    }

    /// Audits a successful change of `target`'s account; the command line has no
    /// user, so the entry says where it came from instead.
    async fn audit(
        &self,
        storage: &dyn Storage,
        action: AuditAction,
        target: &UserName,
        detail: Option<String>,
    ) {
        let (actor, detail) = match self {
            Actor::User(u) => (Some(u.name.to_string()), detail),
            Actor::CommandLine => (
                None,
                Some(match detail {
                    Some(d) => format!("{d} (command line)"),
                    None => "command line".to_owned(),
                }),
            ),
        };
        let entry = account_entry(actor, action, target.as_str(), Outcome::Ok, detail);
        audit::record(storage, entry).await;
    }
}

/// Maps storage's user-fixable errors to what the user is told (the one mapping:
/// `From<StorageError> for AppError`).
fn storage_error(e: StorageError) -> AppError {
    e.into()
}

fn parse_name(name: &str) -> Result<UserName, AppError> {
    UserName::parse(name.trim()).map_err(|e| AppError::BadRequest(e.to_string()))
}

/// A new password, checked against the rules.
fn new_password(p: String) -> Result<Password, AppError> {
    Password::new(p).map_err(|e| AppError::BadRequest(e.to_string()))
}
