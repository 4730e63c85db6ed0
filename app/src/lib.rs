//! Slipway's application crate: the Leptos UI and server functions, the domain types,
//! and (behind the `ssr` feature) the server-side services they call.
//!
//! Compiled twice: to WebAssembly with `hydrate` (UI and domain only) and natively
//! with `ssr` (everything). Server-only dependencies are optional and enabled by `ssr`.

#![recursion_limit = "256"]

pub mod domain;
pub mod error;
pub mod server_fns;
pub mod ui;
pub mod views;

#[cfg(feature = "ssr")]
pub mod backend;

pub use ui::{shell, App};
