//! [`AppState`]: the one bundle of shared services, handed to axum handlers as router
//! state and to server functions as Leptos context (never a global).

use crate::backend::config::Config;
use crate::backend::engine::Deploys;
use crate::backend::events::Events;
use crate::backend::repos::Repos;
use crate::backend::storage::Storage;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Shared services. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Leptos rendering options (site root, output name).
    pub leptos_options: LeptosOptions,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Persistence.
    pub storage: Arc<dyn Storage>,
    /// Repository mirrors, one per pipeline.
    pub repos: Arc<Repos>,
    /// Deploys running in this process.
    pub deploys: Arc<Deploys>,
    /// Live board events.
    pub events: Arc<Events>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
