//! [`Storage`] on PostgreSQL: one database shared by every replica.
//!
//! The queries are the same as SQLite's (`store/sql/`, compiled here with the
//! PostgreSQL driver, see [`backend_queries`](crate::store::backend_queries)); what
//! differs is how the pool opens and how a write transaction waits its turn.

use super::*;
use crate::clock::{Clock, SystemClock};
use anyhow::Context as _;
use async_trait::async_trait;
use slipway_model::deployment::{DeploymentKind, DeploymentState};
use slipway_model::gates::{GateKind, GateResult, GateStatus};
use slipway_model::{
    DeploymentId, LoginId, PipelineId, Role, RoleSet, Sha, StageId, TokenId, UserName,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool, QueryBuilder, Row};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// The driver this module's copy of the shared queries is compiled for.
type Db = sqlx::Postgres;
type DbRow = sqlx::postgres::PgRow;
type Conn = sqlx::PgConnection;
type Pool = PgPool;
const DIALECT: Dialect = Dialect::Postgres;
type Store = PgStorage;

/// The migrations under `migrations/postgres`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// The transaction-scoped advisory lock every write transaction takes first (any
/// constant works; this one spells "slipway" in its bytes).
const WRITE_LOCK: i64 = 0x0073_6c69_7077_6179;

/// PostgreSQL-backed storage.
#[derive(Clone)]
pub struct PgStorage {
    pool: PgPool,
    /// Two connections of its own for this replica's liveness (heartbeat, lease, the
    /// reaper's reads): on the shared pool a heartbeat queued behind requests that wait
    /// for the write lock (two hundred promotions at once) arrived seconds late, and
    /// the other replicas declared a busy replica dead and interrupted its deploys.
    liveness: PgPool,
    /// What "now" is for the rows this store stamps and the expiries it checks.
    clock: Arc<dyn Clock>,
}

impl PgStorage {
    /// Connects to the database at `url` and applies pending migrations (sqlx holds an
    /// advisory lock while it migrates, so replicas starting together take turns); time
    /// is the system's.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with_clock(url, Arc::new(SystemClock)).await
    }

    /// [`connect`](Self::connect), with time read from `clock`.
    pub async fn connect_with_clock(url: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .context(
                "failed to parse the PostgreSQL URL (expected postgres://user@host:port/database)",
            )?
            .application_name("slipway");
        let failed = || {
            format!(
                "failed to connect to PostgreSQL at {}",
                crate::repos::git::redact_userinfo(url)
            )
        };
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .with_context(failed)?;
        let liveness = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options.application_name("slipway-liveness"));
        MIGRATOR
            .run(&pool)
            .await
            .context("failed to apply the PostgreSQL migrations")?;
        Ok(Self {
            pool,
            liveness,
            clock,
        })
    }

    /// The pool for this replica's liveness statements (see the field).
    fn liveness(&self) -> &PgPool {
        &self.liveness
    }

    /// The underlying pool (for the session store and live events).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Starts a write transaction and waits for the cluster-wide write lock, so write
    /// transactions take turns exactly as they do on SQLite (`BEGIN IMMEDIATE`): the
    /// creating transaction reads a stage's facts, evaluates the gates and inserts, and
    /// no other writer on any replica can change those facts in between. Reads never
    /// wait for it. Every write transaction goes through here.
    async fn write_tx(&self) -> StorageResult<sqlx::Transaction<'static, Db>> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(db("failed to begin a write transaction"))?;
        advisory_xact_lock(&mut tx, WRITE_LOCK).await?;
        Ok(tx)
    }
}

/// Listens on [`EVENTS_CHANNEL`] on a connection of its own, reconnecting after a
/// loss (with a wake-up then: notifications sent meanwhile are gone, the table is not).
fn event_wakes(pool: &Pool) -> Option<tokio::sync::mpsc::Receiver<()>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let pool = pool.clone();
    tokio::spawn(async move {
        loop {
            let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for events; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(EVENTS_CHANNEL).await {
                tracing::warn!(error = %e, "cannot listen for events; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let _ = tx.try_send(());
            loop {
                match listener.try_recv().await {
                    // A full channel already holds a wake-up: the relay reads all.
                    Ok(Some(_)) => {
                        let _ = tx.try_send(());
                    }
                    // The connection dropped; `try_recv` reconnects on the next call.
                    Ok(None) => {
                        let _ = tx.try_send(());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the event listener; reconnecting");
                        break;
                    }
                }
                if tx.is_closed() {
                    return;
                }
            }
        }
    });
    Some(rx)
}

crate::store::backend_queries!();

pub mod scratch;

#[cfg(test)]
mod tests;
