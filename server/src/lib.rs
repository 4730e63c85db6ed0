//! The Slipway server: HTTP wiring ([`startup::build_app`]), handlers and middleware
//! ([`http`]), the command line ([`cli`]) and the demo ([`demo`]). The binary in
//! `main.rs` only calls [`cli::run`]; tests call [`startup::build_app`] and
//! [`startup::serve`] on a port-0 listener.

pub mod background;
pub mod cli;
pub mod demo;
pub mod http;
pub mod listen;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use slipway_core::config::Config;
