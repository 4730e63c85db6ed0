//! Slipway's server core, by capability: configuration ([`config`]), storage
//! ([`storage`]), repository mirrors ([`repos`]), promotions and the commands around
//! them ([`promotion`]), running deploys ([`deploys`]), accounts ([`accounts`]), live
//! events ([`events`]), replicas sharing a database ([`cluster`]), the audit log ([`audit`]), probes of the environments
//! ([`probes`]), outgoing webhooks ([`notify`]), GitHub's webhooks ([`github`]) and the read models pages and the API
//! render ([`read`]).
//!
//! Free of Leptos, axum and tower on purpose: the web layers (`slipway-app`'s server
//! functions, `slipway-server`'s handlers) and the CLI call into it with typed
//! arguments and a [`Services`] value, so the same commands serve pages, forms, the API
//! and the command line, and a newcomer can tell from a path what a line may touch.

pub mod accounts;
pub mod audit;
pub mod authz;
pub mod calendar;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod deploys;
pub mod events;
pub mod github;
pub mod ics;
pub mod measures;
pub mod notify;
pub mod probes;
pub mod promotion;
pub mod read;
pub mod repos;
pub mod services;
pub mod store;

pub use accounts::{passwords, tokens};
pub use services::Services;
