//! Domain types and rules: plain Rust, no SQL, no HTTP, no Leptos. Compiled for both the
//! server and the browser so the same parsing rules apply on both sides.

pub mod client;
pub mod deployment;
pub mod gates;
pub mod ids;
pub mod roles;
pub mod sha;
pub mod throttle;
pub mod time_fmt;

pub use ids::{PipelineId, StageId, UserName};
pub use roles::{Action, Role, RoleSet};
pub use sha::Sha;
