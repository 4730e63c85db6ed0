//! Users: accounts, roles, password hashes (never serialisable), and the one-time setup tokens that create the first admin.

use super::*;

/// A user's database id.
pub use slipway_model::UserId;

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
    /// Set by an admin's password reset: nothing but choosing a new password is
    /// allowed until it is cleared.
    pub must_change_password: bool,
}

/// Why the first admin could not be created through a setup link.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Unknown token, already used, or older than an hour.
    #[error("this setup link is invalid, already used or expired")]
    InvalidLink,
    /// An active admin exists already (someone else finished setup).
    #[error("an administrator already exists; log in instead")]
    AdminExists,
    /// The chosen name is taken.
    #[error("{0}")]
    NameTaken(String),
    /// Anything else.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A user with their password hash: only for verifying a login.
pub struct Credentials {
    /// The user.
    pub user: User,
    /// The argon2id PHC string.
    pub password_hash: String,
}

/// Users, their roles and credentials, and the first-admin setup tokens.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; `Conflict` if the name is taken (case-insensitively).
    /// `must_change_password` marks a password an admin chose or generated.
    async fn create_user(
        &self,
        name: &UserName,
        password_hash: &str,
        roles: RoleSet,
        must_change_password: bool,
    ) -> StorageResult<User>;

    /// Replaces a user's password hash.
    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        must_change: bool,
    ) -> StorageResult<()>;

    /// Replaces a user's roles. Refused (`Conflict`) if no enabled admin would remain,
    /// checked in the same transaction, so two admins demoting each other at once
    /// cannot lock everyone out.
    async fn set_roles(&self, id: UserId, roles: RoleSet) -> StorageResult<()>;

    /// Disables or re-enables a user. Disabling the last enabled admin is refused
    /// (`Conflict`), in the same transaction.
    async fn set_disabled(&self, id: UserId, disabled: bool) -> StorageResult<()>;

    /// Whether any enabled user holds the admin role.
    async fn has_active_admin(&self) -> StorageResult<bool>;

    /// Stores a new setup token's hash (valid until `expires_at`, unix s) and drops
    /// every unused earlier one: only the newest printed link works.
    async fn create_setup_token(&self, token_hash: &str, expires_at: i64) -> StorageResult<()>;

    /// Whether a setup token is unused and unexpired at `now` (unix s).
    async fn setup_token_is_valid(&self, token_hash: &str, now: i64) -> StorageResult<bool>;

    /// In one transaction: consumes the setup token, checks that no enabled admin
    /// exists, and creates `name` as an admin.
    async fn create_first_admin(
        &self,
        token_hash: &str,
        now: i64,
        name: &UserName,
        password_hash: &str,
    ) -> Result<User, SetupError>;

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
}
