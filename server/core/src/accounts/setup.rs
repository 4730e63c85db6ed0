//! The first admin: when no enabled admin exists, the server prints a one-time setup
//! link (a random token, stored hashed, valid for an hour); whoever opens it first
//! chooses the admin's name and password.

use super::{account_entry, new_password, parse_name, passwords, tokens};
use crate::audit;
use crate::authz::internal;
use crate::store::{SetupError, Storage, User};
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::error::AppError;

/// How long a setup link works.
pub const SETUP_LINK_LIFETIME: time::Duration = time::Duration::hours(1);

/// If no enabled admin exists, stores a new one-time setup token (invalidating any
/// earlier link) and returns the link to print. `None` when an admin exists.
pub async fn issue_setup_link(
    storage: &dyn Storage,
    base_url: &url::Url,
) -> anyhow::Result<Option<url::Url>> {
    use anyhow::Context as _;
    if storage
        .has_active_admin()
        .await
        .context("failed to check for an admin")?
    {
        return Ok(None);
    }
    let token = tokens::generate_setup();
    let expires = (storage.clock().now() + SETUP_LINK_LIFETIME).unix_timestamp();
    storage
        .create_setup_token(&tokens::hash(&token), expires)
        .await
        .context("failed to store the setup link")?;
    let mut link = base_url
        .join("setup")
        .context("failed to build the setup link")?;
    link.query_pairs_mut().append_pair("token", &token);
    Ok(Some(link))
}

/// Whether `token` is a setup link that can still be used.
pub async fn setup_link_is_valid(storage: &dyn Storage, token: &str) -> Result<bool, AppError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    storage
        .setup_token_is_valid(&tokens::hash(token), storage.clock().unix())
        .await
        .map_err(internal)
}

/// Uses a setup link: creates the first admin (the link then no longer works).
pub async fn complete_setup(
    storage: &dyn Storage,
    token: &str,
    name: &str,
    password: String,
    confirm: String,
) -> Result<User, AppError> {
    let invalid = || {
        AppError::BadRequest(
            "this setup link is invalid, already used or expired (links last an hour); restart the server to print a new one, or run `slipway user add NAME --role admin`".into(),
        )
    };
    if !setup_link_is_valid(storage, token).await? {
        return Err(invalid());
    }
    let name = parse_name(name)?;
    if password != confirm {
        return Err(AppError::BadRequest(
            "the two passwords differ; type the same one twice".into(),
        ));
    }
    let hash = passwords::hash(new_password(password)?).await?;
    let user = storage
        .create_first_admin(&tokens::hash(token), storage.clock().unix(), &name, &hash)
        .await
        .map_err(|e| match e {
            SetupError::InvalidLink => invalid(),
            SetupError::AdminExists => AppError::BadRequest(e.to_string()),
            SetupError::NameTaken(m) => AppError::BadRequest(m),
            SetupError::Storage(e) => internal(e),
        })?;
    let entry = account_entry(
        Some(user.name.to_string()),
        AuditAction::UserCreated,
        user.name.as_str(),
        Outcome::Ok,
        Some("first admin, through the one-time setup link".into()),
    );
    audit::record(storage, entry).await;
    Ok(user)
}
