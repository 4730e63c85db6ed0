//! Running deploys: the supervisor that starts a created deployment's command and
//! records its life (state, log, events, audit), the log sink, and the process-group
//! runner underneath. Nothing else in Slipway touches processes.

pub mod log_sink;
pub mod runner;
pub mod supervisor;

use runner::CancelHandle;
use slipway_model::DeploymentId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub use supervisor::{recover_interrupted, shutdown, start};

/// How long a deploy's process group gets between TERM and KILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// Deploys running in this process, so they can be cancelled.
#[derive(Default)]
pub struct Deploys {
    running: Mutex<HashMap<DeploymentId, CancelHandle>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    stopping: AtomicBool,
}

impl Deploys {
    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<DeploymentId, CancelHandle>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether new promotions are refused because the server is shutting down.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Cancels deployment `id` if this process runs it (its whole process group);
    /// false if it does not.
    pub fn cancel(&self, id: DeploymentId) -> bool {
        let handle = self.lock_running().get(&id).cloned();
        handle.map(|h| h.cancel()).is_some()
    }

    /// Number of deploys running in this process.
    pub fn running_count(&self) -> usize {
        self.lock_running().len()
    }
}
