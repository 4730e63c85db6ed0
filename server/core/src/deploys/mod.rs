//! Running deploys: the supervisor that starts a created deployment's command and
//! records its life (state, log, events, audit), the log sink, and the process-group
//! runner underneath. Nothing else in Slipway touches processes.

pub mod github;
pub mod http;
pub mod log_sink;
pub mod runner;
pub mod supervisor;
mod verify;

use runner::CancelHandle;
use slipway_model::DeploymentId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub use supervisor::{shutdown, start};

/// What a deployer gets of the server's environment, when set: where programs are, who
/// and where it runs as, language and time zone. Anything else must be named in the
/// deployer's `pass_env` (or set in its `env`).
pub const BASE_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
];

/// The environment variable every deployer is started with, naming its deployment
/// ([`marker`]). Restart recovery finds a crashed server's deployers by it in
/// `/proc/*/environ`: it is in place before the program runs (unlike a process group
/// id recorded after the spawn), and it cannot belong to an unrelated process that
/// happens to reuse a stored id.
pub const MARKER_VAR: &str = "SLIPWAY_DEPLOYMENT_MARKER";

/// The marker of deployment `id` of the server whose data lives in `data_dir`: two
/// servers on one machine never confuse each other's deployers.
pub fn marker(data_dir: &std::path::Path, id: DeploymentId) -> String {
    format!("{}#{id}", data_dir.display())
}

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

    /// Cancels deployment `id`: its whole process group if it runs, or, if its task
    /// has not registered yet (a cancel right after the row was created), before it
    /// starts — the task finds the handle already cancelled and never spawns. Either
    /// way the deployment's task alone moves its row to an end state, so the row and
    /// the process cannot disagree. (A cancel racing the task's very end leaves one
    /// unused handle behind: harmless.)
    pub fn cancel(&self, id: DeploymentId) {
        self.handle(id).cancel();
    }

    /// The cancel handle of deployment `id`, created on first use by either the task
    /// or a cancel.
    fn handle(&self, id: DeploymentId) -> CancelHandle {
        self.lock_running().entry(id).or_default().clone()
    }

    /// Cancels every deploy this process runs (it was declared dead: others have
    /// interrupted them already).
    pub fn cancel_all(&self) {
        for handle in self.lock_running().values() {
            handle.cancel();
        }
    }

    /// Whether this process runs deployment `id`.
    pub fn runs(&self, id: DeploymentId) -> bool {
        self.lock_running().contains_key(&id)
    }

    /// Number of deploys running in this process.
    pub fn running_count(&self) -> usize {
        self.lock_running().len()
    }
}
