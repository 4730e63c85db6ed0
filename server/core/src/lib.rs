//! Slipway's server core: configuration, storage, repository mirrors, the promotion
//! engine and deploy runner, accounts, live events, the audit log and the read models
//! pages and the API render.
//!
//! Free of Leptos, axum and tower on purpose: the web layers (`slipway-app`'s server
//! functions, `slipway-server`'s handlers) call into it with typed arguments and a
//! [`Services`] value, so the same commands serve pages, forms, the API and the CLI,
//! and a newcomer can tell from a path what a line may touch.

pub mod accounts;
pub mod audit;
pub mod authz;
pub mod board;
pub mod config;
pub mod engine;
pub mod events;
pub mod repos;
pub mod runner;
pub mod services;
pub mod storage;

pub use accounts::{passwords, tokens};
pub use services::Services;
