//! [`AppState`]: what the Leptos routes need as router state — the rendering options
//! and the core [`Services`]. Handlers of the non-Leptos routes take [`Services`] alone.

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use slipway_core::Services;

/// The Leptos router's state. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Leptos rendering options (site root, output name).
    pub leptos_options: LeptosOptions,
    /// The core services.
    pub services: Services,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Services {
    fn from_ref(state: &AppState) -> Self {
        state.services.clone()
    }
}
