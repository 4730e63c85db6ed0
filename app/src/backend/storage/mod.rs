//! The storage layer: the only place SQL lives.
//!
//! Everything above it talks to [`Storage`], a trait with one implementation per
//! database. SQLite ([`sqlite::SqliteStorage`]) is the embedded default; PostgreSQL
//! (for several replicas) will be a second implementation of the same trait, run
//! against the same integration tests. Rows come back as domain types, never as
//! sqlx types, so callers do not depend on the driver.

pub mod sqlite;

use crate::domain::{RoleSet, UserName};
use async_trait::async_trait;
use std::sync::Arc;
use time::OffsetDateTime;

/// A user's database id.
pub type UserId = i64;

/// A user as everything above the storage layer sees them. Deliberately carries no
/// password hash: that lives only in [`Credentials`], which is never serialisable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Database id (stored in the session).
    pub id: UserId,
    /// Login name.
    pub name: UserName,
    /// Roles held.
    pub roles: RoleSet,
    /// Disabled users cannot log in, and their sessions stop working.
    pub disabled: bool,
    /// When the user last logged in (UTC).
    pub last_login_at: Option<OffsetDateTime>,
}

/// A user with their password hash: only for verifying a login.
pub struct Credentials {
    /// The user.
    pub user: User,
    /// The argon2id PHC string.
    pub password_hash: String,
}

/// Everything that can go wrong in storage. Callers map `Conflict`/`NotFound` to
/// 4xx answers; `Database` is an internal error whose details are logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness rule was violated (e.g. the user name is taken).
    #[error("{0}")]
    Conflict(String),
    /// The row does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Any other database failure.
    #[error("database error: {0:#}")]
    Database(#[from] anyhow::Error),
}

/// Shorthand for storage results.
pub type StorageResult<T> = Result<T, StorageError>;

/// The one interface to persistence.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Succeeds when the database answers and every migration is applied (`/readyz`).
    async fn check_ready(&self) -> StorageResult<()>;

    /// Creates a user; `Conflict` if the name is taken (case-insensitively).
    async fn create_user(
        &self,
        name: &UserName,
        password_hash: &str,
        roles: RoleSet,
    ) -> StorageResult<User>;

    /// Replaces a user's password hash.
    async fn set_password(&self, id: UserId, password_hash: &str) -> StorageResult<()>;

    /// Looks a user up by login name, with the hash, for verifying a login.
    async fn credentials_by_name(&self, name: &UserName) -> StorageResult<Option<Credentials>>;

    /// Looks a user up by id (every authenticated request does this).
    async fn user_by_id(&self, id: UserId) -> StorageResult<Option<User>>;

    /// Looks a user up by name.
    async fn user_by_name(&self, name: &UserName) -> StorageResult<Option<User>>;

    /// Every user, by name.
    async fn list_users(&self) -> StorageResult<Vec<User>>;

    /// Records a successful login.
    async fn record_login(&self, id: UserId, at: OffsetDateTime) -> StorageResult<()>;

    /// Deletes sessions whose expiry has passed (run periodically).
    async fn delete_expired_sessions(&self) -> StorageResult<u64>;

    /// The session store for tower-sessions, living in the same database.
    fn session_store(&self) -> Arc<dyn tower_sessions::SessionStore>;
}
