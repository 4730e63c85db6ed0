//! [`Services`]: the shared services every command reads or changes, handed to the web
//! layers as one cheap-to-clone value (never a global, never a web framework's state).

use crate::config::Config;
use crate::deploys::Deploys;
use crate::events::Events;
use crate::repos::Repos;
use crate::store::Storage;
use std::sync::Arc;

/// Shared services: one `Arc`, so the clone every request's extractors and middleware
/// make is one atomic increment (a profile of the board page under load found the nine
/// clones it was before). Reads as the [`ServiceSet`] it holds.
#[derive(Clone)]
pub struct Services(Arc<ServiceSet>);

impl Services {
    pub fn new(set: ServiceSet) -> Self {
        Self(Arc::new(set))
    }

    /// Now, by the store's clock (the system's, or a fixed one in tests).
    pub fn now(&self) -> time::OffsetDateTime {
        self.storage.clock().now()
    }
}

impl std::ops::Deref for Services {
    type Target = ServiceSet;

    fn deref(&self) -> &ServiceSet {
        &self.0
    }
}

/// What [`Services`] holds.
pub struct ServiceSet {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Persistence.
    pub storage: Arc<dyn Storage>,
    /// Repository mirrors, one per pipeline.
    pub repos: Arc<Repos>,
    /// Deploys running in this process.
    pub deploys: Arc<Deploys>,
    /// This process as one replica of the cluster (its id, whether it leads).
    pub cluster: Arc<crate::cluster::Cluster>,
    /// Live board events.
    pub events: Arc<Events>,
    /// Artifact checks under way.
    pub artifacts: Arc<crate::probes::artifact::Artifacts>,
    /// GitHub's API, one client per base URL.
    pub github: Arc<crate::github::client::GitHubClients>,
    /// Boards computed once per version and role set.
    pub boards: Arc<crate::read::BoardCache>,
}
