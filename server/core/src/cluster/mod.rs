//! Several Slipway processes on one database.
//!
//! Every process is a replica: it registers at start ([`Cluster::join`]) and
//! heartbeats ([`run`]). Each heartbeat also
//!
//! - takes or renews the `background` lease: its holder, the leader, runs the work that
//!   must happen once per cluster (fetch polls, probes, scheduled starts, queued
//!   promotions, outgoing webhooks, GitHub deliveries, clean-ups), and loses it to
//!   another replica when it stops heartbeating;
//! - interrupts the deployments of dead replicas ([`reaper`]), ending their processes
//!   when they run on this host.
//!
//! A deployment is run by the replica that created it (its runner, recorded in the
//! creating transaction), so it is claimed exactly once. On SQLite there is one
//! replica, which leads and, at start, interrupts what its previous run left.

pub mod reaper;

use crate::store::{Replica, ReplicaId, Storage};
use crate::Services;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The lease whose holder runs the once-per-cluster background work.
pub const BACKGROUND_LEASE: &str = "background";

/// This process, as the cluster knows it.
pub struct Cluster {
    me: Replica,
    timeout: Duration,
    leader: AtomicBool,
}

impl Cluster {
    /// This process: `host` (the machine's name), its pid and data directory, and the
    /// replica timeout; not yet registered.
    pub fn new(
        host: String,
        data_dir: &std::path::Path,
        timeout: Duration,
        now: time::OffsetDateTime,
    ) -> Self {
        let pid = std::process::id();
        Self {
            me: Replica {
                id: ReplicaId::new(&host, pid),
                host,
                pid: i32::try_from(pid).unwrap_or(i32::MAX),
                data_dir: data_dir.display().to_string(),
                started_at: now,
                heartbeat_at: now,
                stopped_at: None,
            },
            timeout,
            leader: AtomicBool::new(false),
        }
    }

    /// This machine's host name (`localhost` if it has none that is UTF-8).
    pub fn host_name() -> String {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned())
    }

    /// This replica's id.
    pub fn id(&self) -> &ReplicaId {
        &self.me.id
    }

    /// This replica as registered.
    pub fn me(&self) -> &Replica {
        &self.me
    }

    /// A replica silent this long is dead.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How often this replica heartbeats: six times per timeout, so a few slow round
    /// trips never look like a death.
    pub fn heartbeat_every(&self) -> Duration {
        (self.timeout / 6).clamp(Duration::from_millis(250), Duration::from_secs(5))
    }

    /// Whether this replica holds the background lease (as of its last heartbeat).
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }

    /// Registers this replica and tries for the lease at once, so a lone replica leads
    /// from its first second.
    pub async fn join(&self, storage: &dyn Storage) -> anyhow::Result<()> {
        storage.register_replica(&self.me).await?;
        self.renew_lease(storage).await;
        Ok(())
    }

    /// At shutdown: gives up the lease and marks this replica stopped, so others take
    /// over at once rather than after the timeout.
    pub async fn leave(&self, storage: &dyn Storage) {
        self.leader.store(false, Ordering::SeqCst);
        if let Err(e) = storage.release_lease(BACKGROUND_LEASE, &self.me.id).await {
            tracing::warn!(error = %e, "failed to release the background lease");
        }
        if let Err(e) = storage.stop_replica(&self.me.id).await {
            tracing::warn!(error = %e, "failed to mark this replica stopped");
        }
    }

    async fn renew_lease(&self, storage: &dyn Storage) {
        let until = storage.clock().now() + self.timeout;
        let held = match storage
            .try_lease(BACKGROUND_LEASE, &self.me.id, until)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                // Unsure: stop leading rather than risk two leaders.
                tracing::warn!(error = %e, "failed to renew the background lease");
                false
            }
        };
        let was = self.leader.swap(held, Ordering::SeqCst);
        if held != was {
            tracing::info!(replica = %self.me.id, leader = held, "background work {}", if held { "taken over" } else { "handed over" });
        }
    }
}

/// The heartbeat loop: heartbeat, lease, reaper, until the server stops.
pub async fn run(state: Services) {
    let cluster = state.cluster.clone();
    let mut tick = tokio::time::interval(cluster.heartbeat_every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if state.deploys.is_stopping() {
            break;
        }
        match state.storage.heartbeat(cluster.id()).await {
            Ok(true) => {}
            Ok(false) => declared_dead(&state).await,
            Err(e) => tracing::warn!(error = %e, "failed to record a heartbeat"),
        }
        cluster.renew_lease(state.storage.as_ref()).await;
        if let Err(e) = reaper::reap(&state).await {
            tracing::warn!(error = %e, "failed to look for abandoned deployments");
        }
    }
}

/// Another replica declared this one dead (it missed heartbeats: a pause, or the
/// database out of reach) and interrupted its deployments: whatever this replica still
/// runs must stop, since a new deployment of the same stage may already be running
/// elsewhere. Then it registers again and carries on.
async fn declared_dead(state: &Services) {
    tracing::error!(replica = %state.cluster.id(), "this replica was declared dead by another; cancelling the deploys it still runs");
    state.cluster.leader.store(false, Ordering::SeqCst);
    state.deploys.cancel_all();
    let mut again = state.cluster.me.clone();
    again.started_at = state.now();
    again.heartbeat_at = again.started_at;
    if let Err(e) = state.storage.revive_replica(&again).await {
        tracing::warn!(error = %e, "failed to register this replica again");
    }
}
