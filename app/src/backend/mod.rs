//! Server-side services (compiled only with the `ssr` feature): configuration,
//! storage, repository mirrors, passwords and sessions, and the read models that
//! server functions and handlers return. Nothing here knows about Leptos components.

pub mod accounts;
pub mod audit;
pub mod board;
pub mod config;
pub mod context;
pub mod engine;
pub mod events;
pub mod git;
pub mod passwords;
pub mod repos;
pub mod runner;
pub mod sessions;
pub mod state;
pub mod storage;
pub mod tokens;

pub use state::AppState;
