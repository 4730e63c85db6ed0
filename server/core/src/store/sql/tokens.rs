//! API tokens: stored as hashes with a display prefix, shown once at creation.

use super::*;
use super::users::{user_with_roles_columns, UserWithRoles};

/// How stale a token's `last_used_at` may get before a request records it again.
const LAST_USED_EVERY_SECONDS: i64 = 60;

#[async_trait]
impl TokenStore for Store {
    async fn create_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        prefix: &str,
    ) -> StorageResult<ApiToken> {
        let now = self.clock.now();
        let id: TokenId = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user)
        .bind(name)
        .bind(token_hash)
        .bind(prefix)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(db("failed to store a token"))?;
        Ok(ApiToken {
            id,
            user_id: user,
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        })
    }

    async fn tokens_of(&self, user: UserId) -> StorageResult<Vec<ApiToken>> {
        let rows = sqlx::query_as::<_, ApiToken>(
            "SELECT id, user_id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to list tokens"))?;
        Ok(rows)
    }

    async fn revoke_token(&self, user: UserId, id: TokenId) -> StorageResult<bool> {
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(self.clock.now())
            .bind(id)
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(db("failed to revoke a token"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_tokens_of(&self, user: UserId) -> StorageResult<u64> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(self.clock.now())
        .bind(user)
        .execute(&self.pool)
        .await
        .map_err(db("failed to revoke tokens"))?;
        Ok(done.rows_affected())
    }

    async fn user_by_token(&self, token_hash: &str) -> StorageResult<Option<User>> {
        /// The token's user, and when the token was last used.
        #[derive(sqlx::FromRow)]
        struct TokenUser {
            #[sqlx(flatten)]
            user: UserWithRoles,
            token_id: TokenId,
            last_used_at: Option<OffsetDateTime>,
        }
        // Every API request comes here: one read, and a write at most once a minute
        // per token (a write per request would queue every API call behind the
        // database's one writer).
        let found = sqlx::query_as::<_, TokenUser>(&format!(
            "SELECT {}, t.id AS token_id, t.last_used_at FROM api_tokens t \
             JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
            user_with_roles_columns()
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to look up a token"))?;
        let Some(found) = found else { return Ok(None) };
        let now = self.clock.now();
        if found
            .last_used_at
            .is_none_or(|t| now - t >= time::Duration::seconds(LAST_USED_EVERY_SECONDS))
        {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(found.token_id)
                .execute(&self.pool)
                .await
                .map_err(db("failed to record a token's use"))?;
        }
        found.user.into_user().map(Some)
    }
}
