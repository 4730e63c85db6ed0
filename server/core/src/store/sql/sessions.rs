//! Login sessions: one row per login, so that an admin can end a user's sessions and a.

use super::*;
use super::users::{user_with_roles_columns, UserWithRoles};

#[async_trait]
impl LoginSessionStore for Store {
    async fn create_login_session(
        &self,
        user: UserId,
        expires_at: i64,
        client: &str,
        user_agent: &str,
    ) -> StorageResult<LoginSession> {
        let now = self.clock.now();
        let row = sqlx::query(&format!(
            "INSERT INTO user_sessions (user_id, created_at, expires_at, last_seen_at, client, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {LOGIN_SESSION_COLUMNS}"
        ))
        .bind(user)
        .bind(now)
        .bind(expires_at)
        .bind(now)
        .bind(client)
        .bind(user_agent)
        .fetch_one(&self.pool)
        .await
        .map_err(db("failed to open a login session"))?;
        login_session_from_row(&row)
    }

    async fn login_session(&self, id: LoginId) -> StorageResult<Option<LoginSession>> {
        sqlx::query(&format!(
            "SELECT {LOGIN_SESSION_COLUMNS} FROM user_sessions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to load a login session"))?
        .as_ref()
        .map(login_session_from_row)
        .transpose()
    }

    async fn resume_login(&self, id: LoginId) -> StorageResult<Option<Resumed>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserWithRoles,
            login_id: LoginId,
            login_created_at: OffsetDateTime,
            login_expires_at: i64,
            login_last_seen_at: OffsetDateTime,
            login_client: String,
            login_user_agent: String,
            unread: i64,
        }
        let row = sqlx::query_as::<_, Row>(&format!(
            "SELECT {}, l.id AS login_id, l.created_at AS login_created_at, \
             l.expires_at AS login_expires_at, l.last_seen_at AS login_last_seen_at, \
             l.client AS login_client, l.user_agent AS login_user_agent, \
             (SELECT COUNT(*) FROM notifications n WHERE n.user_id = u.id AND n.read_at IS NULL) AS unread \
             FROM user_sessions l JOIN users u ON u.id = l.user_id WHERE l.id = $1",
            user_with_roles_columns()
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to resume a login session"))?;
        let Some(row) = row else { return Ok(None) };
        let user = row.user.into_user()?;
        Ok(Some(Resumed {
            login: LoginSession {
                id: row.login_id,
                user_id: user.id,
                created_at: row.login_created_at,
                expires_at: row.login_expires_at,
                last_seen_at: row.login_last_seen_at,
                client: row.login_client,
                user_agent: row.login_user_agent,
            },
            user,
            unread_notifications: row.unread,
        }))
    }

    async fn touch_login_session(&self, id: LoginId, at: OffsetDateTime) -> StorageResult<()> {
        sqlx::query("UPDATE user_sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db("failed to record session activity"))?;
        Ok(())
    }

    async fn open_login_sessions(
        &self,
        user: UserId,
        now: i64,
    ) -> StorageResult<Vec<LoginSession>> {
        let rows = sqlx::query(&format!(
            "SELECT {LOGIN_SESSION_COLUMNS} FROM user_sessions \
             WHERE user_id = $1 AND expires_at > $2 ORDER BY id DESC"
        ))
        .bind(user)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to list login sessions"))?;
        rows.iter().map(login_session_from_row).collect()
    }

    async fn end_login_session(&self, user: UserId, id: LoginId) -> StorageResult<bool> {
        let done = sqlx::query("DELETE FROM user_sessions WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(db("failed to end a login session"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn end_login_sessions_of(
        &self,
        user: UserId,
        except: Option<LoginId>,
    ) -> StorageResult<u64> {
        let done = sqlx::query("DELETE FROM user_sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2")
            .bind(user)
            .bind(except)
            .execute(&self.pool)
            .await
            .map_err(db("failed to end a user's sessions"))?;
        Ok(done.rows_affected())
    }

    async fn delete_expired_sessions(&self) -> StorageResult<u64> {
        // On SQLite, tower-sessions-sqlx-store writes the expiry as RFC 3339 text (sqlx's
        // encoding of `OffsetDateTime`) into the INTEGER column, and SQLite orders any
        // text after any number: compare instants, not the stored values.
        let done = sqlx::query(dialect_sql!(
            sqlite: "DELETE FROM tower_sessions WHERE unixepoch(expiry_date) < $1",
            postgres: "DELETE FROM tower_sessions WHERE expiry_date < to_timestamp($1)",
        ))
            .bind(self.clock.now().unix_timestamp())
            .execute(&self.pool)
            .await
            .map_err(db("failed to delete expired sessions"))?;
        // Past their absolute end, login sessions are refused whether their row
        // exists or not (a missing row refuses too), so they can go.
        let logins = sqlx::query("DELETE FROM user_sessions WHERE expires_at < $1")
            .bind(self.clock.now().unix_timestamp())
            .execute(&self.pool)
            .await
            .map_err(db("failed to delete ended login sessions"))?;
        sqlx::query("DELETE FROM setup_tokens WHERE expires_at < $1")
            .bind(self.clock.now().unix_timestamp())
            .execute(&self.pool)
            .await
            .map_err(db("failed to delete expired setup links"))?;
        Ok(done.rows_affected() + logins.rows_affected())
    }
}
