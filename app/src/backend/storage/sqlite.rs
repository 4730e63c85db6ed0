//! [`Storage`] on embedded SQLite (WAL, one file under the data directory).
//!
//! Query functions are small and take an executor, so the same function serves a pool
//! or a transaction. Write transactions start with `BEGIN IMMEDIATE`: SQLite fails a
//! deferred transaction that upgrades to a write at once with `SQLITE_BUSY`, whatever
//! the busy timeout.

use super::{Credentials, Storage, StorageError, StorageResult, User, UserId};
use crate::domain::{Role, RoleSet, UserName};
use anyhow::Context as _;
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Executor, Row, Sqlite, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// The migrations under `migrations/sqlite`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// SQLite-backed storage.
#[derive(Clone, Debug)]
pub struct SqliteStorage {
    pool: SqlitePool,
}

impl SqliteStorage {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("failed to parse the SQLite URL {url:?}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("failed to open the SQLite database {url:?}"))?;
        MIGRATOR
            .run(&pool)
            .await
            .context("failed to apply the SQLite migrations")?;
        Ok(Self { pool })
    }

    /// The underlying pool (for the session store).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn db<E: Into<anyhow::Error>>(context: &'static str) -> impl FnOnce(E) -> StorageError {
    move |e| StorageError::Database(e.into().context(context))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

async fn roles_of<'e, E: Executor<'e, Database = Sqlite>>(
    ex: E,
    id: UserId,
) -> StorageResult<RoleSet> {
    let rows = sqlx::query("SELECT role FROM user_roles WHERE user_id = ?")
        .bind(id)
        .fetch_all(ex)
        .await
        .map_err(db("failed to load a user's roles"))?;
    let mut set = RoleSet::EMPTY;
    for row in rows {
        let name: String = row.try_get("role").map_err(db("failed to read a role"))?;
        // The CHECK constraint only admits known roles; an unknown one is skipped, not fatal.
        if let Ok(role) = Role::parse(&name) {
            set.insert(role);
        }
    }
    Ok(set)
}

fn user_from_row(row: &sqlx::sqlite::SqliteRow, roles: RoleSet) -> StorageResult<User> {
    let name: String = row
        .try_get("name")
        .map_err(db("failed to read a user name"))?;
    Ok(User {
        id: row.try_get("id").map_err(db("failed to read a user id"))?,
        name: UserName::parse(&name).map_err(db("a stored user name is invalid"))?,
        roles,
        disabled: row
            .try_get::<Option<OffsetDateTime>, _>("disabled_at")
            .map_err(db("failed to read disabled_at"))?
            .is_some(),
        last_login_at: row
            .try_get("last_login_at")
            .map_err(db("failed to read last_login_at"))?,
    })
}

const USER_COLUMNS: &str = "id, name, password_hash, disabled_at, last_login_at";

#[async_trait]
impl Storage for SqliteStorage {
    async fn check_ready(&self) -> StorageResult<()> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
                .fetch_all(&self.pool)
                .await
                .map_err(db("failed to read the migration history"))?;
        let missing: Vec<i64> = MIGRATOR
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(StorageError::Database(anyhow::anyhow!(
                "migrations not applied: {missing:?}"
            )))
        }
    }

    async fn create_user(
        &self,
        name: &UserName,
        password_hash: &str,
        roles: RoleSet,
    ) -> StorageResult<User> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("failed to begin a transaction"))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(name.as_str())
        .bind(password_hash)
        .bind(OffsetDateTime::now_utc())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StorageError::Conflict(format!("a user named {name:?} already exists"))
            } else {
                db("failed to insert a user")(e)
            }
        })?;
        for role in roles.iter() {
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES (?, ?)")
                .bind(id)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db("failed to insert a user's role"))?;
        }
        tx.commit()
            .await
            .map_err(db("failed to commit a new user"))?;
        Ok(User {
            id,
            name: name.clone(),
            roles,
            disabled: false,
            last_login_at: None,
        })
    }

    async fn set_password(&self, id: UserId, password_hash: &str) -> StorageResult<()> {
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db("failed to update a password"))?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound(format!("no user with id {id}")));
        }
        Ok(())
    }

    async fn credentials_by_name(&self, name: &UserName) -> StorageResult<Option<Credentials>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?"))
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("failed to look up a user"))?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id").map_err(db("failed to read a user id"))?;
        let roles = roles_of(&self.pool, id).await?;
        Ok(Some(Credentials {
            user: user_from_row(&row, roles)?,
            password_hash: row
                .try_get("password_hash")
                .map_err(db("failed to read a hash"))?,
        }))
    }

    async fn user_by_id(&self, id: UserId) -> StorageResult<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("failed to look up a user"))?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(user_from_row(&row, roles_of(&self.pool, id).await?)?)),
        }
    }

    async fn user_by_name(&self, name: &UserName) -> StorageResult<Option<User>> {
        Ok(self.credentials_by_name(name).await?.map(|c| c.user))
    }

    async fn list_users(&self) -> StorageResult<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))
            .fetch_all(&self.pool)
            .await
            .map_err(db("failed to list users"))?;
        // One query for all roles rather than one per user.
        let role_rows = sqlx::query("SELECT user_id, role FROM user_roles")
            .fetch_all(&self.pool)
            .await
            .map_err(db("failed to list roles"))?;
        let mut roles: std::collections::HashMap<i64, RoleSet> = std::collections::HashMap::new();
        for r in role_rows {
            let id: i64 = r
                .try_get("user_id")
                .map_err(db("failed to read a role row"))?;
            let name: String = r.try_get("role").map_err(db("failed to read a role row"))?;
            if let Ok(role) = Role::parse(&name) {
                roles.entry(id).or_default().insert(role);
            }
        }
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id").map_err(db("failed to read a user id"))?;
                user_from_row(row, roles.get(&id).copied().unwrap_or_default())
            })
            .collect()
    }

    async fn record_login(&self, id: UserId, at: OffsetDateTime) -> StorageResult<()> {
        sqlx::query("UPDATE users SET last_login_at = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db("failed to record a login"))?;
        Ok(())
    }

    async fn delete_expired_sessions(&self) -> StorageResult<u64> {
        let done = sqlx::query("DELETE FROM tower_sessions WHERE expiry_date < ?")
            .bind(OffsetDateTime::now_utc().unix_timestamp())
            .execute(&self.pool)
            .await
            .map_err(db("failed to delete expired sessions"))?;
        Ok(done.rows_affected())
    }

    fn session_store(&self) -> Arc<dyn tower_sessions::SessionStore> {
        Arc::new(tower_sessions_sqlx_store::SqliteStore::new(
            self.pool.clone(),
        ))
    }
}
