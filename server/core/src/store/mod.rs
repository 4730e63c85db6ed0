//! The storage layer: the only place SQL lives.
//!
//! Split by aggregate: one trait per aggregate ([`UserStore`], [`LoginSessionStore`],
//! [`DeploymentStore`], [`BoardStore`], [`ClusterStore`], [`AuditStore`], [`EventStore`], [`TokenStore`],
//! [`ThrottleStore`], [`SignOffStore`], [`FreezeStore`], [`ApprovalStore`], [`NotificationStore`], [`HealthStore`], [`VersionStore`], [`ArtifactStore`], [`WebhookStore`], [`GitHubStore`]), and [`Storage`], all of them, which is what the services hold
//! (`Arc<dyn Storage>`). SQLite ([`sqlite::SqliteStorage`]) is the embedded default;
//! PostgreSQL ([`postgres::PgStorage`]) serves several replicas. [`open`] picks one by
//! the URL's scheme. Rows come back as domain types, never as sqlx types, so callers do
//! not depend on the driver.
//!
//! **One set of queries.** The aggregates' queries live once, in `store/sql/` (one file
//! per aggregate), written with `$1`-style parameters, which both drivers take. Each
//! backend module compiles that folder with its own driver through
//! [`backend_queries!`]: the module names the driver (`Db`, `DbRow`, `Conn`, `Pool`),
//! its [`Dialect`] and its `Store` type, and implements `write_tx` (how a write
//! transaction waits its turn). Where the two dialects' SQL differs, the operation holds
//! both texts side by side with [`dialect_sql!`], so a change to one is seen next to the
//! other. The contract suite ([`contract`]) holds both backends to the same promises.
//!
//! Methods of every aggregate are callable on a `dyn Storage` without importing the
//! aggregate traits; a function that needs only one aggregate can take `&dyn UserStore`.

pub mod approvals;
pub mod artifacts;
pub mod audit;
pub mod board;
pub mod cluster;
#[cfg(test)]
pub mod contract;
pub mod deployments;
pub mod events;
pub mod freezes;
pub mod github;
pub mod health;
pub mod notifications;
pub mod postgres;
pub mod sessions;
pub mod signoffs;
pub mod sqlite;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod versions;
pub mod webhooks;

pub use approvals::*;
pub use artifacts::*;
pub use audit::*;
pub use board::*;
pub use cluster::*;
pub use deployments::*;
pub use events::*;
pub use freezes::*;
pub use github::*;
pub use health::*;
pub use notifications::*;
pub use sessions::*;
pub use signoffs::*;
pub use throttle::*;
pub use tokens::*;
pub use users::*;
pub use versions::*;
pub use webhooks::*;

use crate::clock::Clock;
use async_trait::async_trait;
use slipway_model::audit::{AuditAction, Outcome};
use slipway_model::deployment::{DeploymentKind, DeploymentState};
use slipway_model::gates::GateResult;
use slipway_model::{DeploymentId, LoginId, TokenId};
use slipway_model::{PipelineId, RoleSet, Sha, StageId, UserName};
use time::OffsetDateTime;

/// The PostgreSQL channel `append_event` notifies with each new event's id.
pub const EVENTS_CHANNEL: &str = "slipway_events";

/// The PostgreSQL advisory lock `append_event` holds from taking an id to committing,
/// so ids become visible in id order and a reader of "the events after N" never skips
/// one that commits late.
const EVENTS_LOCK: i64 = 0x0073_6c69_7065_7674;

/// The SQL dialect a backend module speaks; see [`dialect_sql!`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// An operation's SQL where the dialects differ: both texts side by side, chosen by the
/// `DIALECT` of the backend module the shared queries are compiled in.
macro_rules! dialect_sql {
    (sqlite: $sqlite:expr, postgres: $postgres:expr $(,)?) => {
        match DIALECT {
            $crate::store::Dialect::Sqlite => $sqlite,
            $crate::store::Dialect::Postgres => $postgres,
        }
    };
}
pub(crate) use dialect_sql;

/// Compiles the shared queries (`store/sql/`) into the backend module that invokes it.
macro_rules! backend_queries {
    () => {
        // Both backends compile these same files, each with its own driver: that is
        // the design (see above), not the mistake the lint looks for.
        #[path = "../sql/common.rs"]
        #[allow(clippy::duplicate_mod)]
        mod common;
        use common::*;
        #[path = "../sql/approvals.rs"]
        #[allow(clippy::duplicate_mod)]
        mod approvals;
        #[path = "../sql/artifacts.rs"]
        #[allow(clippy::duplicate_mod)]
        mod artifacts;
        #[path = "../sql/audit.rs"]
        #[allow(clippy::duplicate_mod)]
        mod audit;
        #[path = "../sql/board.rs"]
        #[allow(clippy::duplicate_mod)]
        mod board;
        #[path = "../sql/cluster.rs"]
        #[allow(clippy::duplicate_mod)]
        mod cluster;
        #[path = "../sql/deployments.rs"]
        #[allow(clippy::duplicate_mod)]
        mod deployments;
        #[path = "../sql/events.rs"]
        #[allow(clippy::duplicate_mod)]
        mod events;
        #[path = "../sql/freezes.rs"]
        #[allow(clippy::duplicate_mod)]
        mod freezes;
        #[path = "../sql/github.rs"]
        #[allow(clippy::duplicate_mod)]
        mod github;
        #[path = "../sql/health.rs"]
        #[allow(clippy::duplicate_mod)]
        mod health;
        #[path = "../sql/notifications.rs"]
        #[allow(clippy::duplicate_mod)]
        mod notifications;
        #[path = "../sql/sessions.rs"]
        #[allow(clippy::duplicate_mod)]
        mod sessions;
        #[path = "../sql/signoffs.rs"]
        #[allow(clippy::duplicate_mod)]
        mod signoffs;
        #[path = "../sql/throttle.rs"]
        #[allow(clippy::duplicate_mod)]
        mod throttle;
        #[path = "../sql/tokens.rs"]
        #[allow(clippy::duplicate_mod)]
        mod tokens;
        #[path = "../sql/users.rs"]
        #[allow(clippy::duplicate_mod)]
        mod users;
        #[path = "../sql/versions.rs"]
        #[allow(clippy::duplicate_mod)]
        mod versions;
        #[path = "../sql/webhooks.rs"]
        #[allow(clippy::duplicate_mod)]
        mod webhooks;
    };
}
pub(crate) use backend_queries;

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

/// Everything the services store: every aggregate, behind one handle.
#[async_trait]
pub trait Storage:
    UserStore
    + LoginSessionStore
    + DeploymentStore
    + BoardStore
    + ClusterStore
    + AuditStore
    + EventStore
    + TokenStore
    + ThrottleStore
    + SignOffStore
    + FreezeStore
    + ApprovalStore
    + NotificationStore
    + HealthStore
    + VersionStore
    + ArtifactStore
    + WebhookStore
    + GitHubStore
    + Send
    + Sync
    + 'static
{
    /// The clock this store stamps rows with and checks expiries against: the one
    /// source of "now" for everything holding the store.
    fn clock(&self) -> &dyn Clock;

    /// Succeeds when the database answers and every migration is applied (`/readyz`).
    async fn check_ready(&self) -> StorageResult<()>;

    /// Where the database says that events were stored (by any replica): a wake-up per
    /// notification, and one after the listening connection comes back. `None` where
    /// one process alone writes (SQLite): it broadcasts what it stores itself.
    fn event_wakes(&self) -> Option<tokio::sync::mpsc::Receiver<()>>;
}

/// The one way a storage failure reaches a user: what they can fix is said (a name
/// taken, a row gone), anything else is logged with its chain and shown as an internal
/// error. Commands use `?` on storage calls and get this.
impl From<StorageError> for slipway_model::AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict(m) => slipway_model::AppError::BadRequest(m),
            StorageError::NotFound(m) => slipway_model::AppError::NotFound(m),
            other => crate::authz::internal(other),
        }
    }
}
