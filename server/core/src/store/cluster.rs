//! The processes sharing the database: replicas, their heartbeats, the runner of each
//! deployment, and leases for work that runs once per cluster.

use super::*;
use std::fmt;

/// One process's identity in the cluster: `host:pid:random`, new at every start, so a
/// restarted process is never mistaken for the one before it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplicaId(String);

impl ReplicaId {
    /// A fresh id for a process starting now on `host` as `pid`.
    pub fn new(host: &str, pid: u32) -> Self {
        let random: [u8; 4] = rand::random();
        Self(format!("{host}:{pid}:{}", hex::encode(random)))
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id read back from storage.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A replica as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub id: ReplicaId,
    /// The host name it runs on (its deploys' processes are there).
    pub host: String,
    pub pid: i32,
    /// Its data directory (part of its deploys' process marker).
    pub data_dir: String,
    pub started_at: OffsetDateTime,
    pub heartbeat_at: OffsetDateTime,
    /// It stopped cleanly, or another declared it dead.
    pub stopped_at: Option<OffsetDateTime>,
}

/// A deployment that has not ended, and the replica running it (`None`: no runner was
/// recorded, or its row is gone).
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub deployment: Deployment,
    pub runner: Option<Replica>,
}

/// What `/metrics` reports of the shared state, counted when scraped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Deployments queued, running or verifying.
    pub active_deployments: i64,
    /// Promotions waiting for their artifact.
    pub queued_promotions: i64,
    /// Stages locked (expired locks not counted).
    pub locked_stages: i64,
    /// Approval requests waiting for a decision.
    pub pending_approvals: i64,
    /// Replicas heartbeating (not stopped).
    pub replicas: i64,
}

/// The connection pool of this process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open now.
    pub open: u32,
    /// Of those, idle.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

/// The replicas, their heartbeats and leases.
#[async_trait]
pub trait ClusterStore {
    /// Registers `replica`, heartbeating now.
    async fn register_replica(&self, replica: &Replica) -> StorageResult<()>;

    /// Records a heartbeat now; false when the replica is no longer registered as
    /// running (it stopped, or another replica declared it dead).
    async fn heartbeat(&self, id: &ReplicaId) -> StorageResult<bool>;

    /// Registers a replica declared dead as running again (it noticed, and stopped
    /// what it ran).
    async fn revive_replica(&self, replica: &Replica) -> StorageResult<()>;

    /// Marks the replica stopped (clean shutdown, or declared dead by another): true if
    /// this call did it, false if it was already stopped.
    async fn stop_replica(&self, id: &ReplicaId) -> StorageResult<bool>;

    /// Takes or renews the lease `name` for `holder` until `until`: true while `holder`
    /// holds it (it was free, expired, or already `holder`'s).
    async fn try_lease(
        &self,
        name: &str,
        holder: &ReplicaId,
        until: OffsetDateTime,
    ) -> StorageResult<bool>;

    /// Gives up `holder`'s lease `name` (nothing if another holds it).
    async fn release_lease(&self, name: &str, holder: &ReplicaId) -> StorageResult<()>;

    /// Asks the runner of active deployment `id` to cancel it; false when it has ended.
    async fn request_cancel(&self, id: DeploymentId) -> StorageResult<bool>;

    /// The active deployments `runner` runs that someone asked to cancel.
    async fn cancel_requests(&self, runner: &ReplicaId) -> StorageResult<Vec<DeploymentId>>;

    /// Deployments interrupted since `since` whose runner ran on `host`, with that
    /// runner's data directory (their processes may outlive them there).
    async fn interrupted_on_host(
        &self,
        host: &str,
        since: OffsetDateTime,
    ) -> StorageResult<Vec<(DeploymentId, String)>>;

    /// The shared state's counts for `/metrics`.
    async fn counts(&self) -> StorageResult<Counts>;

    /// This process's connection pool.
    fn pool_status(&self) -> PoolStatus;

    /// Every deployment that has not ended, with its runner, oldest first.
    async fn unfinished_with_runners(&self) -> StorageResult<Vec<Unfinished>>;
}
