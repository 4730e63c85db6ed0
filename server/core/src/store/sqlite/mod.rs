//! [`Storage`] on embedded SQLite (WAL, one file under the data directory).
//!
//! Query functions are small and take an executor, so the same function serves a pool
//! or a transaction. Write transactions start with `BEGIN IMMEDIATE`: SQLite fails a
//! deferred transaction that upgrades to a write at once with `SQLITE_BUSY`, whatever
//! the busy timeout.
//!
//! The queries themselves are shared with PostgreSQL: `store/sql/`, compiled here with
//! the SQLite driver (see [`backend_queries`](crate::store::backend_queries)).

use super::*;
use crate::clock::{Clock, SystemClock};
use anyhow::Context as _;
use async_trait::async_trait;
use slipway_model::deployment::{DeploymentKind, DeploymentState};
use slipway_model::gates::{GateKind, GateResult, GateStatus};
use slipway_model::{
    DeploymentId, LoginId, PipelineId, Role, RoleSet, Sha, StageId, TokenId, UserName,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Executor, QueryBuilder, Row, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// The driver this module's copy of the shared queries is compiled for.
type Db = sqlx::Sqlite;
type DbRow = sqlx::sqlite::SqliteRow;
type Conn = sqlx::SqliteConnection;
type Pool = SqlitePool;
const DIALECT: Dialect = Dialect::Sqlite;
type Store = SqliteStorage;

/// The migrations under `migrations/sqlite`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// Connections in the pool: two per core, at least two, at most eight. Each has a
/// worker thread that every statement is handed to and back from; readers never wait
/// for the single writer (WAL), so threads beyond the cores only add handoffs: four
/// instead of eight on two cores took the board page from 30.6 to 35.5 % of nginx and
/// its p99 under 10 ms (`scripts/bench`, BENCHMARKS.md).
fn pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    u32::try_from(cores * 2).unwrap_or(u32::MAX).clamp(2, 8)
}

/// SQLite-backed storage.
#[derive(Clone)]
pub struct SqliteStorage {
    pool: SqlitePool,
    /// What "now" is for the rows this store stamps and the expiries it checks.
    clock: Arc<dyn Clock>,
}

impl SqliteStorage {
    /// Opens (creating if needed) the database at `url` and applies pending migrations;
    /// time is the system's.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with_clock(url, Arc::new(SystemClock)).await
    }

    /// [`connect`](Self::connect), with time read from `clock`.
    pub async fn connect_with_clock(url: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("failed to parse the SQLite URL {url:?}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(pool_size())
            .connect_with(options)
            .await
            .with_context(|| format!("failed to open the SQLite database {url:?}"))?;
        MIGRATOR
            .run(&pool)
            .await
            .context("failed to apply the SQLite migrations")?;
        Ok(Self { pool, clock })
    }

    /// The underlying pool (for the session store).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The pool for liveness statements: the one pool (a single replica, which never
    /// judges its own heartbeat; PostgreSQL keeps a separate one).
    fn liveness(&self) -> &SqlitePool {
        &self.pool
    }

    /// Writes a consistent copy of the database to `to` while the server runs
    /// (`VACUUM INTO`: one read transaction, so writers carry on; the copy is compact
    /// and complete, WAL included). `to` must not exist yet.
    pub async fn backup_to(&self, to: &std::path::Path) -> anyhow::Result<()> {
        anyhow::ensure!(
            !to.exists(),
            "{} exists already: give a new file name (a backup never overwrites)",
            to.display()
        );
        let target = to.to_str().context("the backup path is not valid UTF-8")?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await
            .with_context(|| format!("failed to write the backup to {}", to.display()))?;
        Ok(())
    }

    /// Starts a write transaction: `BEGIN IMMEDIATE` takes the write lock at once, so
    /// the transaction waits its turn (busy timeout) instead of failing later when a
    /// deferred one tries to upgrade. Every write transaction goes through here.
    async fn write_tx(&self) -> StorageResult<sqlx::Transaction<'static, Db>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("failed to begin a write transaction"))
    }
}

/// One process writes a SQLite file: it broadcasts the events it stores itself.
fn event_wakes(_: &Pool) -> Option<tokio::sync::mpsc::Receiver<()>> {
    None
}

crate::store::backend_queries!();

#[cfg(test)]
mod tests;
