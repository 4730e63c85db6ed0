//! Test support for Slipway's integration and browser tests: a real server on an
//! ephemeral port with a temporary SQLite file or PostgreSQL database ([`app`],
//! [`database`]), real git repositories
//! ([`git`]), and a real headless Chromium ([`browser`]).

pub mod api;
pub mod app;
pub mod axe;
pub mod browser;
pub mod database;
pub mod git;
pub mod github;
pub mod process;
pub mod replicas;
pub mod seed;
pub mod sse;
pub mod stub;
