//! Slipway's UI crate: the Leptos components and the server functions pages load their
//! data through.
//!
//! Compiled twice: to WebAssembly with `hydrate` (components only) and natively with
//! `ssr`, where server functions call into `slipway-core` through [`ssr::context`].
//! The vocabulary both sides share is `slipway-model`.

#![recursion_limit = "256"]

pub mod server_fns;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod ssr;

pub use ui::{shell, App};
