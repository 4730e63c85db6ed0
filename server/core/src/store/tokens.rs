//! API tokens: stored as hashes with a display prefix, shown once at creation.

use super::*;

/// An API token as its owner sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    /// Name given at creation.
    pub name: String,
    /// First characters, for recognition.
    pub prefix: String,
    /// Created (UTC).
    pub created_at: OffsetDateTime,
    /// Last used (UTC).
    pub last_used_at: Option<OffsetDateTime>,
    /// Revoked (UTC).
    pub revoked_at: Option<OffsetDateTime>,
}

/// API tokens (only their hashes and display prefixes).
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a new token (hash and display prefix only).
    async fn create_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        prefix: &str,
    ) -> StorageResult<ApiToken>;

    /// A user's tokens, newest first.
    async fn tokens_of(&self, user: UserId) -> StorageResult<Vec<ApiToken>>;

    /// Revokes one of `user`'s tokens; false if there is no such active token.
    async fn revoke_token(&self, user: UserId, id: TokenId) -> StorageResult<bool>;

    /// Revokes every token of `user` still in force; returns how many.
    async fn revoke_tokens_of(&self, user: UserId) -> StorageResult<u64>;

    /// The user an active token belongs to, in one query; records its use at most once
    /// a minute.
    async fn user_by_token(&self, token_hash: &str) -> StorageResult<Option<User>>;
}
