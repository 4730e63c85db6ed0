//! [`Storage`] on embedded SQLite (WAL, one file under the data directory).
//!
//! Query functions are small and take an executor, so the same function serves a pool
//! or a transaction. Write transactions start with `BEGIN IMMEDIATE`: SQLite fails a
//! deferred transaction that upgrades to a write at once with `SQLITE_BUSY`, whatever
//! the busy timeout.

use super::{
    ApiToken, AuditEntry, AuditFilter, CreateDeploymentError, Credentials, Deployment, GateCheck,
    Lock, LogLine, LoginSession, NewAudit, NewDeployment, ReadyMark, SetupError, StageSnapshot,
    Storage, StorageError, StorageResult, StoredEvent, User, UserId,
};
use anyhow::Context as _;
use async_trait::async_trait;
use slipway_model::deployment::{DeploymentKind, DeploymentState};
use slipway_model::gates::{GateKind, GateResult, GateStatus};
use slipway_model::{PipelineId, Role, RoleSet, Sha, StageId, UserName};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Executor, Row, Sqlite, SqlitePool};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

/// The migrations under `migrations/sqlite`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

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

/// Reads column `name` of a row, with the column in the error.
fn col<'r, T>(row: &'r sqlx::sqlite::SqliteRow, name: &str) -> StorageResult<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(name).map_err(|e| {
        StorageError::Database(
            anyhow::Error::new(e).context(format!("failed to read column {name}")),
        )
    })
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
        let name: String = col(&row, "role")?;
        // The CHECK constraint only admits known roles; an unknown one is skipped, not fatal.
        if let Ok(role) = Role::parse(&name) {
            set.insert(role);
        }
    }
    Ok(set)
}

fn user_from_row(row: &sqlx::sqlite::SqliteRow, roles: RoleSet) -> StorageResult<User> {
    let name: String = col(row, "name")?;
    Ok(User {
        id: col(row, "id")?,
        name: UserName::parse(&name).map_err(db("a stored user name is invalid"))?,
        roles,
        disabled: col::<Option<OffsetDateTime>>(row, "disabled_at")?.is_some(),
        last_login_at: col(row, "last_login_at")?,
        must_change_password: col::<i64>(row, "must_change_password")? != 0,
    })
}

/// How many enabled users hold the admin role.
async fn enabled_admins<'e, E: Executor<'e, Database = Sqlite>>(ex: E) -> StorageResult<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u JOIN user_roles r ON r.user_id = u.id \
         WHERE r.role = 'admin' AND u.disabled_at IS NULL",
    )
    .fetch_one(ex)
    .await
    .map_err(db("failed to count admins"))
}

const LOGIN_SESSION_COLUMNS: &str =
    "id, user_id, created_at, expires_at, last_seen_at, client, user_agent";

fn login_session_from_row(row: &sqlx::sqlite::SqliteRow) -> StorageResult<LoginSession> {
    Ok(LoginSession {
        id: col(row, "id")?,
        user_id: col(row, "user_id")?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
        last_seen_at: col(row, "last_seen_at")?,
        client: col(row, "client")?,
        user_agent: col(row, "user_agent")?,
    })
}

fn last_admin() -> StorageError {
    StorageError::Conflict(
        "this would leave no enabled administrator; make someone else an admin first".into(),
    )
}

const DEPLOYMENT_COLUMNS: &str = "d.id, d.pipeline_id, d.stage_id, d.sha, d.previous_sha, d.kind, d.state, \
     u.name AS requested_by, d.reason, d.created_at, d.started_at, d.finished_at, d.exit_code, d.pgid";

fn deployment_select(filter: &str) -> String {
    format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments d LEFT JOIN users u ON u.id = d.requested_by {filter}")
}

fn sha_col(row: &sqlx::sqlite::SqliteRow, col: &str) -> StorageResult<Sha> {
    let s: String = row.try_get(col).map_err(db("failed to read a SHA"))?;
    Sha::parse(&s).map_err(db("a stored SHA is invalid"))
}

fn deployment_from_row(row: &sqlx::sqlite::SqliteRow) -> StorageResult<Deployment> {
    let kind: String = col(row, "kind")?;
    let state: String = col(row, "state")?;
    let previous: Option<String> = col(row, "previous_sha")?;
    Ok(Deployment {
        id: col(row, "id")?,
        pipeline: col(row, "pipeline_id")?,
        stage: col(row, "stage_id")?,
        sha: sha_col(row, "sha")?,
        previous_sha: previous
            .map(|p| Sha::parse(&p))
            .transpose()
            .map_err(db("a stored SHA is invalid"))?,
        kind: DeploymentKind::parse(&kind).ok_or_else(|| {
            StorageError::Database(anyhow::anyhow!("unknown deployment kind {kind:?}"))
        })?,
        state: DeploymentState::parse(&state).ok_or_else(|| {
            StorageError::Database(anyhow::anyhow!("unknown deployment state {state:?}"))
        })?,
        requested_by: col(row, "requested_by")?,
        reason: col(row, "reason")?,
        created_at: col(row, "created_at")?,
        started_at: col(row, "started_at")?,
        finished_at: col(row, "finished_at")?,
        exit_code: col(row, "exit_code")?,
        pgid: col(row, "pgid")?,
    })
}

fn lock_from_row(row: &sqlx::sqlite::SqliteRow) -> StorageResult<Lock> {
    Ok(Lock {
        stage: col(row, "stage_id")?,
        by: col(row, "locked_by_name")?,
        reason: col(row, "reason")?,
        at: col(row, "locked_at")?,
        expires_at: col(row, "expires_at")?,
    })
}

const LOCK_SELECT: &str =
    "SELECT l.stage_id, u.name AS locked_by_name, l.reason, l.locked_at, l.expires_at \
     FROM locks l JOIN users u ON u.id = l.locked_by \
     WHERE l.pipeline_id = ? AND (l.expires_at IS NULL OR l.expires_at > ?)";

/// `?, ?, …` for an `IN` list of `n` values.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Runs a query returning `(sha, stage_id)` rows for a pipeline and a list of SHAs;
/// `sql` has one `?` for the pipeline and `{}` where the SHA placeholders go.
async fn sha_stage_pairs(
    pool: &SqlitePool,
    sql: &str,
    pipeline: &PipelineId,
    shas: &[Sha],
) -> StorageResult<Vec<(Sha, String)>> {
    if shas.is_empty() {
        return Ok(Vec::new());
    }
    let sql = sql.replace("{}", &placeholders(shas.len()));
    let mut q = sqlx::query(&sql).bind(pipeline.as_str());
    for s in shas {
        q = q.bind(s.as_str());
    }
    let rows = q
        .fetch_all(pool)
        .await
        .map_err(db("failed to read deployments by SHA"))?;
    rows.iter()
        .map(|r| Ok((sha_col(r, "sha")?, col(r, "stage_id")?)))
        .collect()
}

/// Reads a stage's facts with any executor (the pool for display, the write
/// transaction for the check before an insert).
async fn read_snapshot(
    conn: &mut sqlx::SqliteConnection,
    pipeline: &PipelineId,
    stage: &StageId,
    previous_stage: Option<&StageId>,
    sha: Option<&Sha>,
) -> StorageResult<StageSnapshot> {
    let one = |filter: &str| deployment_select(filter);
    let current = sqlx::query(&one("WHERE d.pipeline_id = ? AND d.stage_id = ? AND d.state = 'succeeded' ORDER BY d.id DESC LIMIT 1"))
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("failed to read the current deployment"))?
        .map(|r| deployment_from_row(&r))
        .transpose()?;
    let active = sqlx::query(&one("WHERE d.pipeline_id = ? AND d.stage_id = ? AND d.state IN ('queued', 'running') ORDER BY d.id DESC LIMIT 1"))
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("failed to read the active deployment"))?
        .map(|r| deployment_from_row(&r))
        .transpose()?;
    // At most one deployment of a stage is active (unique index), so the last ended one
    // is among the newest two: a bounded read whatever the history's length.
    let newest = sqlx::query(&one(
        "WHERE d.pipeline_id = ? AND d.stage_id = ? ORDER BY d.id DESC LIMIT 2",
    ))
    .bind(pipeline.as_str())
    .bind(stage.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(db("failed to read the last deployment"))?;
    let mut last_finished = None;
    for row in &newest {
        let d = deployment_from_row(row)?;
        if !d.state.is_active() {
            last_finished = Some(d);
            break;
        }
    }
    let lock = sqlx::query(&format!("{LOCK_SELECT} AND l.stage_id = ?"))
        .bind(pipeline.as_str())
        .bind(OffsetDateTime::now_utc())
        .bind(stage.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("failed to read the lock"))?
        .map(|r| lock_from_row(&r))
        .transpose()?;
    let mut snapshot = StageSnapshot {
        current,
        active,
        last_finished,
        lock,
        ..StageSnapshot::default()
    };
    if let Some(sha) = sha {
        snapshot.marked_ready = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM ready_marks WHERE pipeline_id = ? AND sha = ?",
        )
        .bind(pipeline.as_str())
        .bind(sha.as_str())
        .fetch_one(&mut *conn)
        .await
        .map_err(db("failed to read the ready mark"))?
            > 0;
        if let Some(prev) = previous_stage {
            let last_success: Option<i64> = sqlx::query_scalar(
                "SELECT MAX(id) FROM deployments WHERE pipeline_id = ? AND stage_id = ? AND sha = ? AND state = 'succeeded'",
            )
            .bind(pipeline.as_str())
            .bind(prev.as_str())
            .bind(sha.as_str())
            .fetch_one(&mut *conn)
            .await
            .map_err(db("failed to read the previous stage"))?;
            snapshot.previous_succeeded = last_success.is_some();
            if let Some(last) = last_success {
                snapshot.previous_rolled_back = sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM deployments WHERE pipeline_id = ? AND stage_id = ? AND kind = 'rollback' \
                     AND state = 'succeeded' AND previous_sha = ? AND id > ?",
                )
                .bind(pipeline.as_str())
                .bind(prev.as_str())
                .bind(sha.as_str())
                .bind(last)
                .fetch_one(&mut *conn)
                .await
                .map_err(db("failed to read rollbacks"))?
                    > 0;
            }
        }
    }
    Ok(snapshot)
}

/// Inserts a user with `roles`, inside the caller's transaction; `Conflict` if the
/// name is taken.
async fn insert_user(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    name: &UserName,
    password_hash: &str,
    roles: RoleSet,
    must_change_password: bool,
) -> StorageResult<User> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (name, password_hash, created_at, must_change_password) \
         VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(name.as_str())
    .bind(password_hash)
    .bind(OffsetDateTime::now_utc())
    .bind(must_change_password)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StorageError::Conflict(format!(
                "a user named \"{name}\" already exists; choose another name"
            ))
        } else {
            db("failed to insert a user")(e)
        }
    })?;
    insert_roles(tx, id, roles).await?;
    Ok(User {
        id,
        name: name.clone(),
        roles,
        disabled: false,
        last_login_at: None,
        must_change_password,
    })
}

/// Gives user `id` the `roles`, inside the caller's transaction.
async fn insert_roles(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    id: UserId,
    roles: RoleSet,
) -> StorageResult<()> {
    for role in roles.iter() {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES (?, ?)")
            .bind(id)
            .bind(role.as_str())
            .execute(&mut **tx)
            .await
            .map_err(db("failed to insert a user's role"))?;
    }
    Ok(())
}

const USER_COLUMNS: &str =
    "id, name, password_hash, disabled_at, last_login_at, must_change_password";

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
        must_change_password: bool,
    ) -> StorageResult<User> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("failed to begin a transaction"))?;
        let user = insert_user(&mut tx, name, password_hash, roles, must_change_password).await?;
        tx.commit()
            .await
            .map_err(db("failed to commit a new user"))?;
        Ok(user)
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        must_change: bool,
    ) -> StorageResult<()> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = ?, must_change_password = ? WHERE id = ?",
        )
        .bind(password_hash)
        .bind(must_change)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db("failed to update a password"))?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound(format!("no user with id {id}")));
        }
        Ok(())
    }

    async fn set_roles(&self, id: UserId, roles: RoleSet) -> StorageResult<()> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("failed to begin a transaction"))?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("failed to look up a user"))?;
        if exists.is_none() {
            return Err(StorageError::NotFound(format!("no user with id {id}")));
        }
        sqlx::query("DELETE FROM user_roles WHERE user_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db("failed to clear a user's roles"))?;
        insert_roles(&mut tx, id, roles).await?;
        if enabled_admins(&mut *tx).await? == 0 {
            return Err(last_admin());
        }
        tx.commit()
            .await
            .map_err(db("failed to commit a role change"))?;
        Ok(())
    }

    async fn set_disabled(&self, id: UserId, disabled: bool) -> StorageResult<()> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("failed to begin a transaction"))?;
        let done = sqlx::query(
            "UPDATE users SET disabled_at = CASE WHEN ? THEN COALESCE(disabled_at, ?) END WHERE id = ?",
        )
        .bind(disabled)
        .bind(OffsetDateTime::now_utc())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to disable or enable a user"))?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound(format!("no user with id {id}")));
        }
        if disabled && enabled_admins(&mut *tx).await? == 0 {
            return Err(last_admin());
        }
        tx.commit()
            .await
            .map_err(db("failed to commit a user's status"))?;
        Ok(())
    }

    async fn has_active_admin(&self) -> StorageResult<bool> {
        Ok(enabled_admins(&self.pool).await? > 0)
    }

    async fn create_login_session(
        &self,
        user: UserId,
        expires_at: i64,
        client: &str,
        user_agent: &str,
    ) -> StorageResult<LoginSession> {
        let now = OffsetDateTime::now_utc();
        let row = sqlx::query(&format!(
            "INSERT INTO user_sessions (user_id, created_at, expires_at, last_seen_at, client, user_agent) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING {LOGIN_SESSION_COLUMNS}"
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

    async fn login_session(&self, id: i64) -> StorageResult<Option<LoginSession>> {
        sqlx::query(&format!(
            "SELECT {LOGIN_SESSION_COLUMNS} FROM user_sessions WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to load a login session"))?
        .as_ref()
        .map(login_session_from_row)
        .transpose()
    }

    async fn touch_login_session(&self, id: i64, at: OffsetDateTime) -> StorageResult<()> {
        sqlx::query("UPDATE user_sessions SET last_seen_at = ? WHERE id = ?")
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
             WHERE user_id = ? AND expires_at > ? ORDER BY id DESC"
        ))
        .bind(user)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to list login sessions"))?;
        rows.iter().map(login_session_from_row).collect()
    }

    async fn end_login_session(&self, user: UserId, id: i64) -> StorageResult<bool> {
        let done = sqlx::query("DELETE FROM user_sessions WHERE id = ? AND user_id = ?")
            .bind(id)
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(db("failed to end a login session"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn end_login_sessions_of(&self, user: UserId, except: Option<i64>) -> StorageResult<u64> {
        let done = sqlx::query("DELETE FROM user_sessions WHERE user_id = ? AND id IS NOT ?")
            .bind(user)
            .bind(except)
            .execute(&self.pool)
            .await
            .map_err(db("failed to end a user's sessions"))?;
        Ok(done.rows_affected())
    }

    async fn create_setup_token(&self, token_hash: &str, expires_at: i64) -> StorageResult<()> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("failed to begin a transaction"))?;
        sqlx::query("DELETE FROM setup_tokens WHERE used_at IS NULL")
            .execute(&mut *tx)
            .await
            .map_err(db("failed to drop earlier setup links"))?;
        sqlx::query(
            "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)",
        )
        .bind(token_hash)
        .bind(OffsetDateTime::now_utc())
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to store a setup link"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit a setup link"))?;
        Ok(())
    }

    async fn setup_token_is_valid(&self, token_hash: &str, now: i64) -> StorageResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM setup_tokens WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to look up a setup link"))?;
        Ok(found.is_some())
    }

    async fn create_first_admin(
        &self,
        token_hash: &str,
        now: i64,
        name: &UserName,
        password_hash: &str,
    ) -> Result<User, SetupError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("failed to begin a transaction"))?;
        let used = sqlx::query(
            "UPDATE setup_tokens SET used_at = ? \
             WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        )
        .bind(OffsetDateTime::now_utc())
        .bind(token_hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to use a setup link"))?;
        if used.rows_affected() != 1 {
            return Err(SetupError::InvalidLink);
        }
        if enabled_admins(&mut *tx).await? > 0 {
            return Err(SetupError::AdminExists);
        }
        let admin = [Role::Admin].into_iter().collect();
        let user = insert_user(&mut tx, name, password_hash, admin, false)
            .await
            .map_err(|e| match e {
                StorageError::Conflict(m) => SetupError::NameTaken(m),
                other => SetupError::Storage(other),
            })?;
        tx.commit()
            .await
            .map_err(db("failed to commit the first admin"))?;
        Ok(user)
    }

    async fn credentials_by_name(&self, name: &UserName) -> StorageResult<Option<Credentials>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?"))
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("failed to look up a user"))?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = col(&row, "id")?;
        let roles = roles_of(&self.pool, id).await?;
        Ok(Some(Credentials {
            user: user_from_row(&row, roles)?,
            password_hash: col(&row, "password_hash")?,
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
            let id: i64 = col(&r, "user_id")?;
            let name: String = col(&r, "role")?;
            if let Ok(role) = Role::parse(&name) {
                roles.entry(id).or_default().insert(role);
            }
        }
        rows.iter()
            .map(|row| {
                let id: i64 = col(row, "id")?;
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

    async fn mark_ready(
        &self,
        pipeline: &PipelineId,
        sha: &Sha,
        by: UserId,
        note: Option<&str>,
    ) -> StorageResult<bool> {
        let done = sqlx::query(
            "INSERT INTO ready_marks (pipeline_id, sha, marked_by, note, marked_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (pipeline_id, sha) DO NOTHING",
        )
        .bind(pipeline.as_str())
        .bind(sha.as_str())
        .bind(by)
        .bind(note)
        .bind(OffsetDateTime::now_utc())
        .execute(&self.pool)
        .await
        .map_err(db("failed to mark a SHA ready"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn unmark_ready(&self, pipeline: &PipelineId, sha: &Sha) -> StorageResult<bool> {
        let done = sqlx::query("DELETE FROM ready_marks WHERE pipeline_id = ? AND sha = ?")
            .bind(pipeline.as_str())
            .bind(sha.as_str())
            .execute(&self.pool)
            .await
            .map_err(db("failed to unmark a SHA"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn ready_marks(&self, pipeline: &PipelineId) -> StorageResult<Vec<ReadyMark>> {
        let rows = sqlx::query(
            "SELECT r.sha, u.name, r.note, r.marked_at FROM ready_marks r JOIN users u ON u.id = r.marked_by \
             WHERE r.pipeline_id = ? ORDER BY r.marked_at DESC",
        )
        .bind(pipeline.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to list ready marks"))?;
        rows.iter()
            .map(|r| {
                Ok(ReadyMark {
                    sha: sha_col(r, "sha")?,
                    by: col(r, "name")?,
                    note: col(r, "note")?,
                    at: col(r, "marked_at")?,
                })
            })
            .collect()
    }

    async fn stage_snapshot(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        previous_stage: Option<&StageId>,
        sha: Option<&Sha>,
    ) -> StorageResult<StageSnapshot> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(db("failed to get a connection"))?;
        read_snapshot(&mut conn, pipeline, stage, previous_stage, sha).await
    }

    async fn create_deployment(
        &self,
        new: &NewDeployment,
        check: GateCheck<'_>,
    ) -> Result<Deployment, CreateDeploymentError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("failed to begin a transaction"))?;
        let snapshot = read_snapshot(
            &mut tx,
            &new.pipeline,
            &new.stage,
            new.previous_stage.as_ref(),
            Some(&new.sha),
        )
        .await?;
        check(&snapshot)?;
        let previous = snapshot.current.as_ref().map(|d| d.sha.as_str().to_owned());
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO deployments (pipeline_id, stage_id, sha, previous_sha, kind, state, requested_by, reason, created_at) \
             VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?) RETURNING id",
        )
        .bind(new.pipeline.as_str())
        .bind(new.stage.as_str())
        .bind(new.sha.as_str())
        .bind(previous)
        .bind(new.kind.as_str())
        .bind(new.requested_by)
        .bind(new.reason.as_deref())
        .bind(OffsetDateTime::now_utc())
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => id,
            // Only reachable if two writers ever overlap despite BEGIN IMMEDIATE: the index holds.
            Err(e) if is_unique_violation(&e) => {
                return Err(CreateDeploymentError::Refused(GateResult {
                    gate: GateKind::Busy,
                    status: GateStatus::Fail,
                    reason: "the stage is already deploying".into(),
                }))
            }
            Err(e) => return Err(db("failed to insert a deployment")(e).into()),
        };
        let row = sqlx::query(&deployment_select("WHERE d.id = ?"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db("failed to read the new deployment"))?;
        let deployment = deployment_from_row(&row)?;
        tx.commit()
            .await
            .map_err(db("failed to commit a deployment"))?;
        Ok(deployment)
    }

    async fn mark_running(&self, id: i64, pgid: i32, at: OffsetDateTime) -> StorageResult<bool> {
        let done = sqlx::query("UPDATE deployments SET state = 'running', pgid = ?, started_at = ? WHERE id = ? AND state = 'queued'")
            .bind(pgid)
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db("failed to mark a deployment running"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_deployment(
        &self,
        id: i64,
        state: DeploymentState,
        exit_code: Option<i32>,
        at: OffsetDateTime,
    ) -> StorageResult<bool> {
        if state.is_active() {
            return Err(StorageError::Database(anyhow::anyhow!(
                "{state} is not an end state"
            )));
        }
        let done = sqlx::query(
            "UPDATE deployments SET state = ?, exit_code = ?, finished_at = ?, pgid = NULL \
             WHERE id = ? AND state IN ('queued', 'running')",
        )
        .bind(state.as_str())
        .bind(exit_code)
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db("failed to finish a deployment"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn deployment(&self, id: i64) -> StorageResult<Option<Deployment>> {
        sqlx::query(&deployment_select("WHERE d.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("failed to read a deployment"))?
            .map(|r| deployment_from_row(&r))
            .transpose()
    }

    async fn unfinished_deployments(&self) -> StorageResult<Vec<Deployment>> {
        let rows = sqlx::query(&deployment_select(
            "WHERE d.state IN ('queued', 'running') ORDER BY d.id",
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to list unfinished deployments"))?;
        rows.iter().map(deployment_from_row).collect()
    }

    async fn stage_history(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        limit: i64,
    ) -> StorageResult<Vec<Deployment>> {
        let rows = sqlx::query(&deployment_select(
            "WHERE d.pipeline_id = ? AND d.stage_id = ? ORDER BY d.id DESC LIMIT ?",
        ))
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read a stage's history"))?;
        rows.iter().map(deployment_from_row).collect()
    }

    async fn stage_successes(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        before_id: Option<i64>,
        limit: i64,
    ) -> StorageResult<Vec<(i64, Sha)>> {
        let rows = sqlx::query(
            "SELECT id, sha FROM deployments WHERE pipeline_id = ? AND stage_id = ? AND state = 'succeeded' \
             AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
        )
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(before_id)
        .bind(before_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read a stage's successes"))?;
        rows.iter()
            .map(|r| Ok((col(r, "id")?, sha_col(r, "sha")?)))
            .collect()
    }

    async fn successes(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<(Sha, String)>> {
        sha_stage_pairs(
            &self.pool,
            "SELECT DISTINCT sha, stage_id FROM deployments WHERE pipeline_id = ? AND state = 'succeeded' AND sha IN ({})",
            pipeline,
            shas,
        )
        .await
    }

    async fn rolled_back(
        &self,
        pipeline: &PipelineId,
        shas: &[Sha],
    ) -> StorageResult<Vec<(Sha, String)>> {
        sha_stage_pairs(
            &self.pool,
            "SELECT DISTINCT d.previous_sha AS sha, d.stage_id FROM deployments d \
             WHERE d.pipeline_id = ? AND d.kind = 'rollback' AND d.state = 'succeeded' AND d.previous_sha IN ({}) \
             AND NOT EXISTS (SELECT 1 FROM deployments e WHERE e.pipeline_id = d.pipeline_id AND e.stage_id = d.stage_id \
                             AND e.sha = d.previous_sha AND e.state = 'succeeded' AND e.id > d.id)",
            pipeline,
            shas,
        )
        .await
    }

    async fn append_log(
        &self,
        deployment: i64,
        seq: i64,
        at: OffsetDateTime,
        stream: &str,
        line: &str,
    ) -> StorageResult<()> {
        sqlx::query("INSERT INTO deployment_log (deployment_id, seq, at, stream, line) VALUES (?, ?, ?, ?, ?)")
            .bind(deployment)
            .bind(seq)
            .bind(at)
            .bind(stream)
            .bind(line)
            .execute(&self.pool)
            .await
            .map_err(db("failed to append a log line"))?;
        Ok(())
    }

    async fn log_lines(
        &self,
        deployment: i64,
        after_seq: i64,
        limit: i64,
    ) -> StorageResult<Vec<LogLine>> {
        let rows = sqlx::query(
            "SELECT seq, at, stream, line FROM deployment_log WHERE deployment_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(deployment)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read a log"))?;
        rows.iter()
            .map(|r| {
                Ok(LogLine {
                    seq: col(r, "seq")?,
                    at: col(r, "at")?,
                    stream: col(r, "stream")?,
                    line: col(r, "line")?,
                })
            })
            .collect()
    }

    async fn lock_stage(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
        by: UserId,
        reason: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> StorageResult<()> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("failed to begin a transaction"))?;
        let held = sqlx::query(&format!("{LOCK_SELECT} AND l.stage_id = ?"))
            .bind(pipeline.as_str())
            .bind(now)
            .bind(stage.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("failed to read a lock"))?
            .map(|r| lock_from_row(&r))
            .transpose()?;
        if let Some(l) = held {
            return Err(StorageError::Conflict(format!(
                "{stage} is already locked by {}: {}",
                l.by, l.reason
            )));
        }
        // An expired lock may still be there: replace it.
        sqlx::query(
            "INSERT INTO locks (pipeline_id, stage_id, locked_by, reason, locked_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (pipeline_id, stage_id) DO UPDATE SET locked_by = excluded.locked_by, reason = excluded.reason, \
             locked_at = excluded.locked_at, expires_at = excluded.expires_at",
        )
        .bind(pipeline.as_str())
        .bind(stage.as_str())
        .bind(by)
        .bind(reason)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db("failed to lock a stage"))?;
        tx.commit().await.map_err(db("failed to commit a lock"))?;
        Ok(())
    }

    async fn unlock_stage(
        &self,
        pipeline: &PipelineId,
        stage: &StageId,
    ) -> StorageResult<Option<Lock>> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("failed to begin a transaction"))?;
        let held = sqlx::query(&format!("{LOCK_SELECT} AND l.stage_id = ?"))
            .bind(pipeline.as_str())
            .bind(OffsetDateTime::now_utc())
            .bind(stage.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("failed to read a lock"))?
            .map(|r| lock_from_row(&r))
            .transpose()?;
        sqlx::query("DELETE FROM locks WHERE pipeline_id = ? AND stage_id = ?")
            .bind(pipeline.as_str())
            .bind(stage.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db("failed to unlock a stage"))?;
        tx.commit()
            .await
            .map_err(db("failed to commit an unlock"))?;
        Ok(held)
    }

    async fn locks(&self, pipeline: &PipelineId) -> StorageResult<Vec<Lock>> {
        let rows = sqlx::query(LOCK_SELECT)
            .bind(pipeline.as_str())
            .bind(OffsetDateTime::now_utc())
            .fetch_all(&self.pool)
            .await
            .map_err(db("failed to list locks"))?;
        rows.iter().map(lock_from_row).collect()
    }

    async fn audit(&self, e: NewAudit) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, pipeline_id, stage_id, sha, target, outcome, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(OffsetDateTime::now_utc())
        .bind(e.actor)
        .bind(e.action.as_str())
        .bind(e.pipeline)
        .bind(e.stage)
        .bind(e.sha)
        .bind(e.target)
        .bind(e.outcome.as_str())
        .bind(e.detail)
        .execute(&self.pool)
        .await
        .map_err(db("failed to append to the audit log"))?;
        Ok(())
    }

    async fn audit_query(&self, f: &AuditFilter) -> StorageResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, pipeline_id, stage_id, sha, target, outcome, detail FROM audit_log \
             WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR pipeline_id = ?3) \
             AND (?4 IS NULL OR outcome = ?4) AND (?5 IS NULL OR id < ?5) ORDER BY id DESC LIMIT ?6",
        )
        .bind(f.actor.as_deref())
        .bind(f.action.as_deref())
        .bind(f.pipeline.as_deref())
        .bind(f.outcome.as_deref())
        .bind(f.before_id)
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read the audit log"))?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: col(r, "id")?,
                    at: col(r, "at")?,
                    actor: col(r, "actor")?,
                    action: col(r, "action")?,
                    pipeline: col(r, "pipeline_id")?,
                    stage: col(r, "stage_id")?,
                    sha: col(r, "sha")?,
                    target: col(r, "target")?,
                    outcome: col(r, "outcome")?,
                    detail: col(r, "detail")?,
                })
            })
            .collect()
    }

    async fn cached_ancestry(
        &self,
        pipeline: &PipelineId,
        ancestor: &Sha,
        descendant: &Sha,
    ) -> StorageResult<Option<bool>> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT is_ancestor FROM ancestry_cache WHERE pipeline_id = ? AND ancestor = ? AND descendant = ?",
        )
        .bind(pipeline.as_str())
        .bind(ancestor.as_str())
        .bind(descendant.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to read the ancestry cache"))?;
        Ok(v.map(|v| v == 1))
    }

    async fn cache_ancestry(
        &self,
        pipeline: &PipelineId,
        ancestor: &Sha,
        descendant: &Sha,
        is_ancestor: bool,
    ) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO ancestry_cache (pipeline_id, ancestor, descendant, is_ancestor) VALUES (?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(pipeline.as_str())
        .bind(ancestor.as_str())
        .bind(descendant.as_str())
        .bind(i64::from(is_ancestor))
        .execute(&self.pool)
        .await
        .map_err(db("failed to write the ancestry cache"))?;
        Ok(())
    }

    async fn create_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        prefix: &str,
    ) -> StorageResult<ApiToken> {
        let now = OffsetDateTime::now_utc();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
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
        let rows = sqlx::query(
            "SELECT id, user_id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = ? ORDER BY id DESC",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to list tokens"))?;
        rows.iter()
            .map(|r| {
                Ok(ApiToken {
                    id: col(r, "id")?,
                    user_id: col(r, "user_id")?,
                    name: col(r, "name")?,
                    prefix: col(r, "prefix")?,
                    created_at: col(r, "created_at")?,
                    last_used_at: col(r, "last_used_at")?,
                    revoked_at: col(r, "revoked_at")?,
                })
            })
            .collect()
    }

    async fn revoke_token(&self, user: UserId, id: i64) -> StorageResult<bool> {
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL")
            .bind(OffsetDateTime::now_utc())
            .bind(id)
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(db("failed to revoke a token"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn user_by_token(&self, token_hash: &str) -> StorageResult<Option<User>> {
        let user_id: Option<i64> = sqlx::query_scalar(
            "UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ? AND revoked_at IS NULL RETURNING user_id",
        )
        .bind(OffsetDateTime::now_utc())
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("failed to look up a token"))?;
        match user_id {
            None => Ok(None),
            Some(id) => self.user_by_id(id).await,
        }
    }

    async fn append_event(
        &self,
        pipeline: &str,
        kind: &str,
        data: &str,
    ) -> StorageResult<StoredEvent> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO events (at, pipeline_id, kind, data) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(OffsetDateTime::now_utc())
        .bind(pipeline)
        .bind(kind)
        .bind(data)
        .fetch_one(&self.pool)
        .await
        .map_err(db("failed to append an event"))?;
        Ok(StoredEvent {
            id,
            pipeline: pipeline.to_owned(),
            kind: kind.to_owned(),
            data: data.to_owned(),
        })
    }

    async fn events_after(
        &self,
        after_id: i64,
        pipeline: Option<&str>,
        limit: i64,
    ) -> StorageResult<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT id, pipeline_id, kind, data FROM events WHERE id > ? AND (? IS NULL OR pipeline_id = ?) ORDER BY id LIMIT ?",
        )
        .bind(after_id)
        .bind(pipeline)
        .bind(pipeline)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db("failed to read events"))?;
        rows.iter()
            .map(|r| {
                Ok(StoredEvent {
                    id: col(r, "id")?,
                    pipeline: col(r, "pipeline_id")?,
                    kind: col(r, "kind")?,
                    data: col(r, "data")?,
                })
            })
            .collect()
    }

    async fn event_id_range(&self) -> StorageResult<(i64, i64)> {
        let (min, max): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT MIN(id), MAX(id) FROM events")
                .fetch_one(&self.pool)
                .await
                .map_err(db("failed to read events"))?;
        Ok((min.unwrap_or(0), max.unwrap_or(0)))
    }

    async fn prune_events(&self, keep: i64) -> StorageResult<u64> {
        let done = sqlx::query("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?")
            .bind(keep)
            .execute(&self.pool)
            .await
            .map_err(db("failed to prune events"))?;
        Ok(done.rows_affected())
    }

    async fn record_login_failure(
        &self,
        account: &str,
        client: &str,
        at: f64,
    ) -> StorageResult<()> {
        sqlx::query("INSERT INTO login_failures (at, account, client) VALUES (?, ?, ?)")
            .bind(at)
            .bind(account)
            .bind(client)
            .execute(&self.pool)
            .await
            .map_err(db("failed to record a failed login"))?;
        sqlx::query("DELETE FROM login_failures WHERE at < ?")
            .bind(at - 86_400.0)
            .execute(&self.pool)
            .await
            .map_err(db("failed to prune failed logins"))?;
        Ok(())
    }

    async fn login_failures(
        &self,
        account: &str,
        client: &str,
        since: f64,
    ) -> StorageResult<(Vec<f64>, Vec<f64>)> {
        let by_account: Vec<f64> =
            sqlx::query_scalar("SELECT at FROM login_failures WHERE account = ? AND at >= ?")
                .bind(account)
                .bind(since)
                .fetch_all(&self.pool)
                .await
                .map_err(db("failed to read failed logins"))?;
        let by_client: Vec<f64> =
            sqlx::query_scalar("SELECT at FROM login_failures WHERE client = ? AND at >= ?")
                .bind(client)
                .bind(since)
                .fetch_all(&self.pool)
                .await
                .map_err(db("failed to read failed logins"))?;
        Ok((by_account, by_client))
    }

    async fn clear_login_failures(&self, account: &str) -> StorageResult<()> {
        sqlx::query("DELETE FROM login_failures WHERE account = ?")
            .bind(account)
            .execute(&self.pool)
            .await
            .map_err(db("failed to clear failed logins"))?;
        Ok(())
    }

    async fn delete_expired_sessions(&self) -> StorageResult<u64> {
        let done = sqlx::query("DELETE FROM tower_sessions WHERE expiry_date < ?")
            .bind(OffsetDateTime::now_utc().unix_timestamp())
            .execute(&self.pool)
            .await
            .map_err(db("failed to delete expired sessions"))?;
        // Past their absolute end, login sessions are refused whether their row
        // exists or not (a missing row refuses too), so they can go.
        let logins = sqlx::query("DELETE FROM user_sessions WHERE expires_at < ?")
            .bind(OffsetDateTime::now_utc().unix_timestamp())
            .execute(&self.pool)
            .await
            .map_err(db("failed to delete ended login sessions"))?;
        sqlx::query("DELETE FROM setup_tokens WHERE expires_at < ?")
            .bind(OffsetDateTime::now_utc().unix_timestamp())
            .execute(&self.pool)
            .await
            .map_err(db("failed to delete expired setup links"))?;
        Ok(done.rows_affected() + logins.rows_affected())
    }
}
